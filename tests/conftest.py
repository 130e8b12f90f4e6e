"""Shared fixtures: API clients for keys of each scope, demo purposes, and a gunicorn for transactional tests."""
import contextlib
import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apikeys.keycache import key_cache
from apikeys.services import create_api_key
from consents import services


def pytest_configure(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith(".postgresql"):
        raise pytest.UsageError(
            f"The test suite runs against PostgreSQL, but DATABASE_URL selects {engine}. "
            "Run `make test`, or set DATABASE_URL=postgres://postgres@127.0.0.1:5432/consentvault."
        )
    if not settings.REDIS_URL:
        raise pytest.UsageError("The test suite runs against Redis; set REDIS_URL=redis://127.0.0.1:6379/15.")


def _clear_own_keys():
    # delete_pattern removes only keys under CACHE_KEY_PREFIX; clear() would
    # empty the whole Redis database.
    cache.delete_pattern("*")
    key_cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    _clear_own_keys()
    yield
    _clear_own_keys()


@pytest.fixture
def staff_groups(db):
    """Ensure the staff groups exist: transactional tests empty every table, the migration's groups included."""
    from django.apps import apps

    create_groups = importlib.import_module("consents.migrations.0005_create_staff_groups").create_groups
    create_groups(apps, None)


def committed_database_url() -> str:
    """The test database's URL, for a server or command run in another process by a transactional test."""
    from django.db import connection

    settings_dict = connection.settings_dict
    return f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


@contextlib.contextmanager
def gunicorn_server(tmp_path: Path, **env_overrides):
    """Run gunicorn with 4 workers on the committed test database; yield its base URL once it responds.

    For transactional tests only: the server's workers cannot see rows of a
    test transaction that never commits.
    """
    from django.db import connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(
        os.environ,
        CONSENTVAULT_ENV_FILE="",
        DATABASE_URL=committed_database_url(),
        PORT=str(port),
        GUNICORN_WORKERS="4",
        GUNICORN_PIDFILE=str(tmp_path / "gunicorn.pid"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        LOG_LEVEL="WARNING",
        **env_overrides,
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "docker/gunicorn_conf.py", "consentvault.wsgi"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/livez", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not respond to /livez within 10 seconds")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        connection.close()


def client_for(secret: str | None) -> APIClient:
    client = APIClient()
    if secret:
        client.credentials(HTTP_X_API_KEY=secret)
    return client


@pytest.fixture
def reader_key(db):
    return create_api_key(name="reader", scopes=["read"], actor="test")


@pytest.fixture
def writer_key(db):
    return create_api_key(name="writer", scopes=["read", "write"], actor="test")


@pytest.fixture
def admin_key(db):
    return create_api_key(name="admin", scopes=["read", "write", "admin"], actor="test")


@pytest.fixture
def privacy_key(db):
    return create_api_key(name="privacy", scopes=["read", "write", "pii"], actor="test")


@pytest.fixture
def privacy(privacy_key):
    return client_for(privacy_key.secret)


@pytest.fixture
def reader(reader_key):
    return client_for(reader_key.secret)


@pytest.fixture
def writer(writer_key):
    return client_for(writer_key.secret)


@pytest.fixture
def admin(admin_key):
    return client_for(admin_key.secret)


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def marketing(db):
    return services.create_purpose(
        slug="marketing-email",
        title="Marketing emails",
        description="Offers by email.",
        legal_basis="consent",
        validity_days=365,
        text="We would like to email you offers.",
    )


@pytest.fixture
def analytics(db):
    return services.create_purpose(
        slug="analytics",
        title="Analytics",
        description="",
        legal_basis="legitimate_interests",
        validity_days=None,
        text="We measure how you use the site.",
    )


def post_consent(client, **body):
    return client.post("/v1/consents", body, format="json")

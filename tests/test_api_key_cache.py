"""The worker-local API-key cache: used while Redis vouches for it, dropped on every change."""
import datetime
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys import keycache, ratelimit
from apikeys.models import ApiKey
from tests.conftest import committed_database_url, gunicorn_server

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def key_queries(client, path="/v1/purposes") -> tuple[int, int]:
    """Send one request; return its status and how many of its queries read the API-key table.

    The UPDATE of last_used_at, once a minute, is not a read.
    """
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    return status, sum(ApiKey._meta.db_table in sql for sql in reads)


def test_second_request_reads_no_key_row(reader, marketing):
    assert key_queries(reader) == (200, 1)
    assert key_queries(reader) == (200, 0)
    assert key_queries(reader) == (200, 0)


def test_flushed_redis_reloads_the_row_once(reader, marketing):
    reader.get("/v1/purposes")
    token = keycache.current_token()

    keycache._cache().delete_pattern("*")  # what the runbook's FLUSHDB does to this deployment's keys

    assert key_queries(reader) == (200, 1)
    assert keycache.current_token() != token
    assert key_queries(reader) == (200, 0)


def test_cached_row_still_expires(reader, reader_key, marketing, monkeypatch):
    ApiKey.objects.filter(pk=reader_key.api_key.id).update(expires_at=timezone.now() + datetime.timedelta(minutes=5))
    assert key_queries(reader) == (200, 1)
    assert key_queries(reader) == (200, 0)

    later = timezone.now() + datetime.timedelta(minutes=6)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = reader.get("/v1/purposes")

    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has expired."


def test_row_older_than_lifetime_reloaded(reader, marketing, settings):
    settings.CONSENTVAULT_API_KEY_CACHE_SECONDS = 0.2
    reader.get("/v1/purposes")
    assert key_queries(reader) == (200, 0)

    time.sleep(0.25)

    assert key_queries(reader) == (200, 1)


def test_lifetime_zero_reads_every_time(reader, marketing, settings):
    settings.CONSENTVAULT_API_KEY_CACHE_SECONDS = 0
    assert [key_queries(reader) for _ in range(3)] == [(200, 1)] * 3


def test_redis_down_reads_the_database(reader, marketing, settings):
    reader.get("/v1/purposes")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    before = ratelimit.rate_limit_bypasses._value.get()  # noqa: SLF001

    assert key_queries(reader) == (200, 1)
    assert key_queries(reader) == (200, 1)
    # One failed Redis call per request: the row is read without asking Redis again.
    assert ratelimit.rate_limit_bypasses._value.get() - before == 2  # noqa: SLF001


def run_manage(*args, **env_overrides) -> subprocess.CompletedProcess:
    """Run manage.py in its own process, on this test's (committed) database."""
    env = dict(os.environ, CONSENTVAULT_ENV_FILE="", DATABASE_URL=committed_database_url(), **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db(transaction=True)
def test_revocation_from_another_process(reader, reader_key, marketing):
    assert key_queries(reader) == (200, 1)
    assert key_queries(reader) == (200, 0)  # this process now serves the key from its cache

    result = run_manage("revoke_api_key", str(reader_key.api_key.id), "--reason", "test")
    assert result.returncode == 0, result.stderr

    response = reader.get("/v1/purposes")
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has been revoked."


@pytest.mark.django_db(transaction=True)
def test_unreachable_redis_delays_the_change(reader, reader_key, marketing, settings):
    """A revoker cut off from Redis cannot replace the token, so it waits until no cached row is young enough."""
    settings.CONSENTVAULT_API_KEY_CACHE_SECONDS = 3.0  # longer than the command takes to start
    assert key_queries(reader) == (200, 1)
    assert key_queries(reader) == (200, 0)
    token = keycache.current_token()

    started = time.monotonic()
    result = run_manage(
        "revoke_api_key",
        str(reader_key.api_key.id),
        CONSENTVAULT_API_KEY_CACHE_SECONDS="3.0",
        REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens on port 1
    )
    waited = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "Waiting out the API-key cache lifetime" in result.stdout + result.stderr
    assert waited >= 3.0

    # Redis, reachable from here, still has the token this process cached the row with.
    assert keycache.current_token() == token
    response = reader.get("/v1/purposes")
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has been revoked."


def status_of(base: str, secret: str, *, method="GET", path="/v1/purposes", body=None) -> int:
    headers = {"X-Api-Key": secret}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"{base}{path}", data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def one_request_per_worker(port: int, secret: str, workers: int = 4) -> list[int]:
    """Send ``workers`` requests that land on distinct gunicorn workers; return their statuses.

    Each request is held back before its last line until every one has been
    sent: a sync worker that has accepted a connection waits on it and
    accepts no other, so each connection is served by a different worker.
    """
    connections = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(workers)]
    try:
        for conn in connections:
            conn.sendall(f"GET /v1/purposes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {secret}\r\n".encode())
        time.sleep(0.5)  # every worker accepts one connection and waits for the rest of its request
        for conn in connections:
            conn.sendall(b"Connection: close\r\n\r\n")
        return [int(conn.makefile("rb").readline().split()[1]) for conn in connections]
    finally:
        for conn in connections:
            conn.close()


@pytest.mark.django_db(transaction=True)
def test_four_workers_apply_changes_at_once(tmp_path, reader_key, admin_key, marketing):
    key_path = f"/v1/admin/api-keys/{reader_key.api_key.id}"
    # A lifetime long enough that no cached row ages out during the test.
    with gunicorn_server(tmp_path, CONSENTVAULT_API_KEY_CACHE_SECONDS="20") as base:
        port = int(base.rsplit(":", 1)[1])
        warm = one_request_per_worker(port, reader_key.secret)  # every worker caches the row
        cached = one_request_per_worker(port, reader_key.secret)

        revoke = status_of(base, admin_key.secret, method="PUT", path=key_path, body=b'{"active": false}')
        revoked = one_request_per_worker(port, reader_key.secret)

        reactivate = status_of(base, admin_key.secret, method="PATCH", path=key_path, body=b'{"active": true}')
        active_again = one_request_per_worker(port, reader_key.secret)

        rotated = run_manage("rotate_api_key", str(reader_key.api_key.id), "--grace-seconds", "0")
        new_secret = rotated.stdout.strip().splitlines()[-1]
        old_after_rotation = one_request_per_worker(port, reader_key.secret)
        new_after_rotation = one_request_per_worker(port, new_secret)

    assert warm == cached == [200] * 4
    assert (revoke, reactivate) == (200, 200)
    assert revoked == [401] * 4
    assert active_again == [200] * 4
    assert rotated.returncode == 0, rotated.stderr
    assert old_after_rotation == [401] * 4
    assert new_after_rotation == [200] * 4

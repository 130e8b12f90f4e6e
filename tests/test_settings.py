"""Start-up checks of the settings module, run in a fresh interpreter each."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from consents.crypto import generate_key

ROOT = Path(__file__).resolve().parent.parent


def start_django(**overrides) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "DEBUG")}
    env["CONSENTVAULT_ENV_FILE"] = ""  # a developer's .env must not fill in what a test leaves out
    env.update(overrides)
    env["DJANGO_SETTINGS_MODULE"] = "consentvault.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "SECRET_KEY is missing"),
        ("short", "SECRET_KEY is too short"),
        ("django-insecure-" + "x" * 60, "SECRET_KEY starts with 'django-insecure-'"),
        ("a" * 60, "SECRET_KEY has fewer than 5 distinct characters"),
    ],
)
def test_weak_secret_key_stops_start(secret, message):
    result = start_django(DEBUG="false", SECRET_KEY=secret)

    assert result.returncode != 0
    assert message in result.stderr
    assert "started" not in result.stdout


def test_debug_allows_missing_secret_key():
    result = start_django(DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_strong_secret_key_starts():
    result = start_django(DEBUG="false", SECRET_KEY="k3y-" + "0123456789abcdef" * 4)

    assert result.returncode == 0, result.stderr


def test_idempotency_window_below_a_day_rejected():
    result = start_django(DEBUG="true", CONSENTVAULT_IDEMPOTENCY_TTL_HOURS="12")

    assert result.returncode != 0
    assert "CONSENTVAULT_IDEMPOTENCY_TTL_HOURS must be at least 24" in result.stderr



@pytest.mark.parametrize("seconds", ["-1", "21", "nan", "soon"])
def test_key_cache_lifetime_out_of_range_rejected(seconds):
    result = start_django(DEBUG="true", CONSENTVAULT_API_KEY_CACHE_SECONDS=seconds)

    assert result.returncode != 0
    assert "CONSENTVAULT_API_KEY_CACHE_SECONDS must be between 0 and 20" in result.stderr

KEY_A = generate_key()
KEY_B = generate_key()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "CONSENTVAULT_MASTER_KEYS is empty"),
        ("   ", "CONSENTVAULT_MASTER_KEYS is empty"),
        (f"{KEY_A},,{KEY_B}", "entry 2 of 3 is empty"),
        ("not-base64!", "entry 1 of 1 is not valid base64url"),
        ("c2hvcnQ=", "entry 1 of 1 decodes to 5 bytes"),
        (f"{KEY_A}, {KEY_A}", "entry 2 of 2 repeats an earlier key"),
    ],
)
def test_bad_master_keys_stop_start(value, message):
    result = start_django(DEBUG="true", CONSENTVAULT_MASTER_KEYS=value)

    assert result.returncode != 0
    assert message in result.stderr
    assert KEY_A not in result.stderr + result.stdout
    assert "started" not in result.stdout


def test_master_key_padding_optional_garbage_rejected():
    assert start_django(DEBUG="true", CONSENTVAULT_MASTER_KEYS=KEY_A.rstrip("=")).returncode == 0
    result = start_django(DEBUG="true", CONSENTVAULT_MASTER_KEYS=KEY_A + "x")
    assert result.returncode != 0
    assert "entry 1 of 1 is not valid base64url" in result.stderr


def test_master_keys_whitespace_trimmed():
    result = start_django(DEBUG="true", CONSENTVAULT_MASTER_KEYS=f"  {KEY_A} ,\t{KEY_B}\n")

    assert result.returncode == 0, result.stderr


def test_bad_blind_index_key_stops_start():
    result = start_django(DEBUG="true", CONSENTVAULT_BLIND_INDEX_KEY="c2hvcnQ=")

    assert result.returncode != 0
    assert "CONSENTVAULT_BLIND_INDEX_KEY: the key decodes to 5 bytes" in result.stderr


def test_manage_command_checks_keys():
    env_overrides = {"CONSENTVAULT_MASTER_KEYS": "broken"}
    env = {key: value for key, value in os.environ.items()}
    env.update(env_overrides, CONSENTVAULT_ENV_FILE="", DJANGO_SETTINGS_MODULE="consentvault.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert "CONSENTVAULT_MASTER_KEYS: entry 1 of 1" in result.stderr


def test_generate_key_runs_without_configuration():
    unset = ("SECRET_KEY", "REDIS_URL", "DEBUG", "DATABASE_URL")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONSENTVAULT_") and key not in unset}
    env.update(CONSENTVAULT_ENV_FILE="", DJANGO_SETTINGS_MODULE="consentvault.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "generate_key"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 44


def test_percent_encoded_database_password():
    url = "postgres://consentvault:p%40ss%3Aw%2Fo%23rd@db.example:5432/consentvault"
    env = dict(os.environ, CONSENTVAULT_ENV_FILE="", DJANGO_SETTINGS_MODULE="consentvault.settings", DATABASE_URL=url)
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DATABASES['default']['PASSWORD'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "p@ss:w/o#rd"


def test_wsgi_import_opens_no_connection():
    # Nothing listens on port 1: any connection attempt at import time would fail.
    env = dict(
        os.environ,
        CONSENTVAULT_ENV_FILE="",
        DJANGO_SETTINGS_MODULE="consentvault.settings",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from consentvault.wsgi import application; from django.db import connection; "
            "print('connected' if connection.connection else 'no connection')",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no connection"

"""Start-up checks of the settings module, run in a fresh interpreter each."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

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

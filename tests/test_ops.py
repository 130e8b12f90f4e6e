"""Operations: health probes, metrics access, request ids, JSON logs, deploy checks, packaging."""
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from ops import views as ops_views
from ops.jsonlog import JsonFormatter
from tests.conftest import client_for, gunicorn_server, post_consent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_healthz_shape(anonymous):
    response = anonymous.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "0.1.0", "database": "ok", "redis": "ok"}


def test_healthz_answers_within_budget_when_database_hangs(anonymous, monkeypatch):
    monkeypatch.setattr(ops_views, "_database_status", lambda: time.sleep(5) or "ok")
    started = time.monotonic()

    response = anonymous.get("/healthz")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert response.json()["status"] == "error"


def test_livez_touches_nothing(anonymous, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anonymous.get("/livez")
    assert response.status_code == 200


def test_metrics_for_loopback_only(anonymous, reader, marketing):
    reader.get("/v1/subjects/s1/consents/marketing-email")

    allowed = anonymous.get("/metrics", REMOTE_ADDR="127.0.0.1")
    denied = anonymous.get("/metrics", REMOTE_ADDR="203.0.113.5")

    assert allowed.status_code == 200
    text = allowed.content.decode()
    assert 'consentvault_consent_checks_total{status="not_set"}' in text
    assert "django_http_requests_total_by_view_transport_method_total" in text
    assert denied.status_code == 403
    assert denied.json()["code"] == "metrics_forbidden"


def test_metrics_token(anonymous, settings):
    settings.METRICS_TOKEN = "scrape-token-for-tests"

    assert anonymous.get("/metrics").status_code == 401
    assert anonymous.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert anonymous.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-for-tests").status_code == 200


def test_metrics_count_business_events(anonymous, writer, marketing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the counter moves when the event commits
        post_consent(writer, subject_id="s1", purpose="marketing-email", action="granted")
    client_for("cv_00000000_wrong").get("/v1/purposes")

    text = anonymous.get("/metrics").content.decode()

    assert re.search(r'consentvault_consent_events_total\{action="granted",purpose="marketing-email"\} [1-9]', text)
    assert re.search(r'consentvault_authentication_failures_total\{reason="invalid"\} [1-9]', text)


def test_request_id_returned(reader, marketing):
    generated = reader.get("/v1/purposes")
    kept = reader.get("/v1/purposes", HTTP_X_REQUEST_ID="trace-abc.123")
    replaced = reader.get("/v1/purposes", HTTP_X_REQUEST_ID="bad id with spaces")

    assert re.fullmatch(r"[0-9a-f]{32}", generated["X-Request-ID"])
    assert kept["X-Request-ID"] == "trace-abc.123"
    assert replaced["X-Request-ID"] != "bad id with spaces"


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_logs_json_without_personal_data_or_secrets(captured_logs, privacy, privacy_key, admin, marketing):
    email, phone = "log.probe@example.com", "+14155550199"
    bad_secret = privacy_key.secret[:-6] + "ABCDEF"
    privacy.post("/v1/subjects", {"subject_id": "probe", "email": email, "phone": phone}, format="json")
    privacy.post("/v1/subjects", {"subject_id": "other", "email": email}, format="json")  # 409
    privacy.post("/v1/subjects", {"subject_id": "bad", "email": email.replace("@", " at ")}, format="json")  # 400
    privacy.post("/v1/subjects/lookup", {"email": email}, format="json")
    privacy.get("/v1/subjects/probe/export")
    post_consent(privacy, subject_id="probe", purpose="marketing-email", action="granted", evidence={"email": email})
    client_for(bad_secret).get("/v1/purposes")
    client_for(bad_secret).post("/v1/subjects/lookup", {"email": email}, format="json")
    admin.post("/v1/admin/api-keys", {"name": "k", "scopes": ["read"]}, format="json")
    admin.delete("/v1/subjects/probe")

    lines = captured_logs.getvalue().strip().splitlines()

    assert len(lines) >= 10
    entries = [json.loads(line) for line in lines]
    assert all(entry["level"] in ("debug", "info", "warning", "error", "critical") for entry in entries)
    text = captured_logs.getvalue()
    for secret in (email, "log.probe", phone, "4155550199", privacy_key.secret, bad_secret):
        assert secret not in text
    access = [entry for entry in entries if entry["logger"] == "consentvault.access"]
    assert {entry["status"] for entry in access} >= {200, 201, 400, 401, 409}
    export = next(entry for entry in access if entry["route"] and "export" in entry["route"])
    assert export["method"] == "GET"
    assert export["api_key_id"] == str(privacy_key.api_key.id)
    assert export["duration_ms"] >= 0
    assert re.fullmatch(r"[0-9a-f]{32}", export["request_id"])
    assert "probe" not in export["route"]


def run_manage(*args, **env_overrides) -> subprocess.CompletedProcess:
    env = dict(os.environ, CONSENTVAULT_ENV_FILE="", **env_overrides)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_clean():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECURE_SSL_REDIRECT="true",
        TRUSTED_PROXY_COUNT="1",
        ALLOWED_HOSTS="consentvault.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_compose_file(stage):
    compose = yaml.safe_load((ROOT / "docker" / f"docker-compose.{stage}.yml").read_text())
    services = compose["services"]

    assert set(services) == {"api", "db", "redis", "migrate"}
    assert services["api"]["command"] == ["serve"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["api"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    for name in ("api", "db", "redis"):
        assert services[name]["healthcheck"]["test"]
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["db"]["env_file"] == f"../.env.{stage}"
    assert f"../.env.{stage}:/run/consentvault/app.env:ro" in services["api"]["volumes"]
    assert services["api"]["environment"]["CONSENTVAULT_ENV_FILE"] == "/run/consentvault/app.env"
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert (ROOT / services["api"]["build"]["dockerfile"]).exists()


def test_env_example_complete_and_safe():
    text = (ROOT / ".env.example").read_text()
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))

    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CONSENTVAULT_MASTER_KEYS", "CONSENTVAULT_BLIND_INDEX_KEY"):
        assert name in values
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "CONSENTVAULT_MASTER_KEYS", "CONSENTVAULT_BLIND_INDEX_KEY"):
        assert values[name].startswith("change-me")
    assert ".env.staging" in (ROOT / ".gitignore").read_text()


def test_entrypoint_runs_commands(tmp_path):
    env = dict(
        os.environ,
        CONSENTVAULT_ENV_FILE="",
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'entrypoint.sqlite3'}",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the image's python, here the venv's
    )
    migrate = subprocess.run(
        [str(ROOT / "docker" / "entrypoint.sh"), "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    check = subprocess.run(
        [str(ROOT / "docker" / "entrypoint.sh"), "python", "manage.py", "showmigrations", "consents"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert migrate.returncode == 0, migrate.stderr
    assert check.returncode == 0, check.stderr
    assert "[X] 0002_consent_event_append_only_trigger" in check.stdout


def request_count(text: str) -> float:
    pattern = r'^django_http_requests_total_by_view_transport_method_total\{[^}]*view="purpose-list"[^}]*\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


@pytest.mark.django_db(transaction=True)
def test_metrics_monotonic_across_workers(tmp_path, reader_key, marketing):
    with gunicorn_server(tmp_path) as base:
        counts = []
        for scrape in range(5):
            for _ in range(8):
                request = urllib.request.Request(f"{base}/v1/purposes", headers={"X-Api-Key": reader_key.secret})
                urllib.request.urlopen(request, timeout=5).read()
            counts.append(request_count(urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()))

    assert counts == sorted(counts)
    assert counts[-1] >= 40


def test_django_error_lines_hide_paths(captured_logs, anonymous, privacy, settings):
    from consents.crypto import generate_key, parse_master_keys

    privacy.post("/v1/subjects", {"subject_id": "jane.doe@example.com", "email": "x@example.com"}, format="json")
    settings.CONSENTVAULT_KEYRING = parse_master_keys(generate_key())  # the data can no longer be decrypted
    assert privacy.get("/v1/subjects/jane.doe@example.com").status_code == 500
    anonymous.get("/v1/subjects/jane.doe@example.com/consents", HTTP_HOST="evil.example")

    text = captured_logs.getvalue()
    assert "Internal Server Error: [path]" in text
    assert "jane.doe" not in text


def test_loopback_host_always_allowed(anonymous, settings):
    settings.ALLOWED_HOSTS = ["consentvault.example.com", "127.0.0.1", "localhost", "[::1]"]

    assert anonymous.get("/livez", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert anonymous.get("/livez", HTTP_HOST="other.example").status_code == 400


def test_settings_add_loopback_hosts():
    result = run_manage("shell", "-c", "from django.conf import settings; print(settings.ALLOWED_HOSTS)",
                        ALLOWED_HOSTS="consentvault.example.com")

    assert result.returncode == 0, result.stderr
    assert "'consentvault.example.com', '127.0.0.1', 'localhost', '[::1]'" in result.stdout

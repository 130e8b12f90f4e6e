"""Operator commands: create_api_key, load_demo_data, purge_idempotency_keys."""
import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apikeys.models import ApiKey
from consents.models import IdempotencyRecord, Purpose
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_create_api_key_prints_secret_last(marketing):
    output = run("create_api_key", "--name", "crm", "--scope", "read", "--scope", "write")

    secret = output.strip().splitlines()[-1]
    key = ApiKey.objects.get(name="crm")
    assert secret.startswith(f"cv_{key.prefix}_")
    assert key.scopes == ["read", "write"]
    assert client_for(secret).get("/v1/purposes").status_code == 200
    assert client_for(secret).post("/v1/admin/purposes", {}, format="json").status_code == 403


def test_create_api_key_rejects_unknown_scope():
    with pytest.raises(CommandError, match="invalid choice: 'root'"):
        call_command("create_api_key", "--name", "x", "--scope", "root", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiKey.objects.exists()


def test_create_api_key_rejects_blank_name():
    with pytest.raises(CommandError, match="--name"):
        run("create_api_key", "--name", "  ", "--scope", "read")


def test_load_demo_data_twice():
    first = run("load_demo_data")
    second = run("load_demo_data")

    assert "3 created" in first
    assert "0 created, 3 already present" in second
    assert Purpose.objects.count() == 3


def test_purge_idempotency_keys(writer, marketing):
    body = {"subject_id": "s", "purpose": "marketing-email", "action": "granted"}
    writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - datetime.timedelta(hours=30))

    output = run("purge_idempotency_keys")

    assert "Deleted 1 idempotency record(s) older than 24 hours." in output
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_purge_refuses_short_window():
    with pytest.raises(CommandError, match="at least 24"):
        run("purge_idempotency_keys", "--older-than-hours", "2")

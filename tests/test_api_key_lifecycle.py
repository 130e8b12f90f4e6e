"""API keys: rotation with a grace period, revocation, expiry, the audit trail and the commands."""
import datetime
import io
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apikeys.models import ApiKey, ApiKeyEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_rotate_keeps_old_secret_during_grace(admin, writer_key, marketing):
    old = client_for(writer_key.secret)

    response = admin.post(f"/v1/admin/api-keys/{writer_key.api_key.id}/rotate", {"grace_seconds": 3600}, format="json")

    assert response.status_code == 200
    body = response.json()
    new_secret = body["secret"]
    assert new_secret != writer_key.secret
    assert new_secret.startswith(f"cv_{writer_key.api_key.prefix}_")
    assert body["previous_secret_expires_at"] is not None
    assert old.get("/v1/purposes").status_code == 200
    assert client_for(new_secret).get("/v1/purposes").status_code == 200


def test_old_secret_stops_after_grace(admin, writer_key, marketing):
    admin.post(f"/v1/admin/api-keys/{writer_key.api_key.id}/rotate", {"grace_seconds": 3600}, format="json")
    ApiKey.objects.filter(pk=writer_key.api_key.id).update(
        previous_secret_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    response = client_for(writer_key.secret).get("/v1/purposes")

    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is not valid."


def test_rotate_with_zero_grace(admin, writer_key, marketing):
    response = admin.post(f"/v1/admin/api-keys/{writer_key.api_key.id}/rotate", {"grace_seconds": 0}, format="json")

    assert response.json()["previous_secret_expires_at"] is None
    assert client_for(writer_key.secret).get("/v1/purposes").status_code == 401
    assert client_for(response.json()["secret"]).get("/v1/purposes").status_code == 200


def test_rotate_default_grace_is_a_day(admin, writer_key):
    before = timezone.now()
    admin.post(f"/v1/admin/api-keys/{writer_key.api_key.id}/rotate", {}, format="json")

    expires = ApiKey.objects.get(pk=writer_key.api_key.id).previous_secret_expires_at
    assert datetime.timedelta(hours=23, minutes=59) < expires - before <= datetime.timedelta(hours=24, seconds=5)


@pytest.mark.parametrize("grace", [-1, 31 * 86400, "60", None])
def test_rotate_bad_grace(admin, writer_key, grace):
    response = admin.post(f"/v1/admin/api-keys/{writer_key.api_key.id}/rotate", {"grace_seconds": grace}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "grace_seconds"


def test_delete_revokes_and_keeps_row(admin, writer_key, marketing):
    response = admin.delete(f"/v1/admin/api-keys/{writer_key.api_key.id}?reason=leaked+in+a+log")

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["revoked_reason"] == "leaked in a log"
    row = ApiKey.objects.get(pk=writer_key.api_key.id)
    assert row.revoked_at is not None
    assert client_for(writer_key.secret).get("/v1/purposes").status_code == 401


def test_every_change_audited(admin, admin_key, writer_key):
    key_id = writer_key.api_key.id
    admin.patch(f"/v1/admin/api-keys/{key_id}", {"name": "crm"}, format="json")
    admin.post(f"/v1/admin/api-keys/{key_id}/rotate", {"grace_seconds": 0}, format="json")
    admin.put(f"/v1/admin/api-keys/{key_id}", {"active": False, "revoked_reason": "offboarded"}, format="json")
    admin.put(f"/v1/admin/api-keys/{key_id}", {"active": True}, format="json")

    events = list(ApiKeyEvent.objects.filter(api_key_id=key_id).order_by("occurred_at", "id"))

    assert [event.action for event in events] == ["created", "updated", "rotated", "revoked", "reactivated"]
    assert events[0].actor == "test"
    assert all(event.actor == f"api-key:{admin_key.api_key.id}" for event in events[1:])
    assert events[1].changes == {"name": "crm"}
    assert events[3].changes["revoked_reason"] == "offboarded"
    for event in events:
        assert writer_key.secret not in str(event.changes)


def test_put_active_false_keeps_other_fields(admin, writer_key):
    key_id = writer_key.api_key.id
    admin.patch(f"/v1/admin/api-keys/{key_id}", {"rate_limit_read": "10/s"}, format="json")

    response = admin.put(f"/v1/admin/api-keys/{key_id}", {"active": False}, format="json")

    body = response.json()
    assert body["name"] == "writer"
    assert body["scopes"] == ["read", "write"]
    assert body["rate_limit_read"] == "10/s"
    assert body["expires_at"] is None


@pytest.mark.parametrize("rate", ["10", "ten/m", "0/m", "5/0s", "5/w"])
def test_bad_rate_rejected(admin, writer_key, rate):
    response = admin.patch(f"/v1/admin/api-keys/{writer_key.api_key.id}", {"rate_limit_read": rate}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "rate_limit_read"


def test_database_holds_no_secret(admin):
    secret = admin.post("/v1/admin/api-keys", {"name": "x", "scopes": ["read"]}, format="json").json()["secret"]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM apikeys_apikey t UNION ALL SELECT t::text FROM apikeys_apikeyevent t")
        rows = "\n".join(row[0] for row in cursor.fetchall())
    assert secret not in rows
    assert secret.split("_", 2)[2] not in rows


# --- Commands ----------------------------------------------------------------------------


def test_list_api_keys_command(reader_key, writer_key):
    ApiKey.objects.filter(pk=reader_key.api_key.id).update(active=False)

    output = run("list_api_keys")

    lines = output.strip().splitlines()
    assert lines[0] == "id\tprefix\tname\tscopes\tstate\tlast_used_at"
    assert f"{reader_key.api_key.id}\t{reader_key.api_key.prefix}\treader\tread\trevoked\t-" in lines
    assert writer_key.secret not in output
    assert "reader" not in run("list_api_keys", "--active")


def test_revoke_command(writer_key, marketing):
    output = run("revoke_api_key", str(writer_key.api_key.id), "--reason", "rotation drill")

    assert "Revoked API key" in output
    row = ApiKey.objects.get(pk=writer_key.api_key.id)
    assert row.active is False
    assert row.revoked_reason == "rotation drill"
    assert ApiKeyEvent.objects.filter(api_key=row, action="revoked").get().actor.startswith("command:")
    assert client_for(writer_key.secret).get("/v1/purposes").status_code == 401


def test_rotate_command_prints_secret_last(writer_key, marketing):
    output = run("rotate_api_key", str(writer_key.api_key.id), "--grace-seconds", "0")

    secret = output.strip().splitlines()[-1]
    assert secret.startswith(f"cv_{writer_key.api_key.prefix}_")
    assert client_for(secret).get("/v1/purposes").status_code == 200
    assert client_for(writer_key.secret).get("/v1/purposes").status_code == 401


@pytest.mark.parametrize("command", ["revoke_api_key", "rotate_api_key"])
@pytest.mark.parametrize("key_id", ["nope", str(uuid.uuid4())])
def test_commands_reject_unknown_id(command, key_id):
    with pytest.raises(CommandError, match="No API key has the id"):
        run(command, key_id)


def test_create_command_with_expiry_and_rates():
    output = run("create_api_key", "--name", "batch", "--scope", "write", "--expires-in-days", "7", "--rate-write", "30/m")

    key = ApiKey.objects.get(name="batch")
    assert key.rate_limit_write == "30/m"
    assert datetime.timedelta(days=6, hours=23) < key.expires_at - timezone.now() <= datetime.timedelta(days=7)
    assert output.strip().splitlines()[-1].startswith(f"cv_{key.prefix}_")
    with pytest.raises(CommandError, match="--rate-write"):
        run("create_api_key", "--name", "b", "--scope", "write", "--rate-write", "lots")


def test_past_expiry_rejected(admin, writer_key):
    past = (timezone.now() - datetime.timedelta(minutes=1)).isoformat()

    created = admin.post("/v1/admin/api-keys", {"name": "x", "scopes": ["read"], "expires_at": past}, format="json")
    updated = admin.patch(f"/v1/admin/api-keys/{writer_key.api_key.id}", {"expires_at": past}, format="json")

    assert created.status_code == 422
    assert created.json()["code"] == "in_past"
    assert created.json()["errors"][0]["field"] == "expires_at"
    assert updated.status_code == 422
    assert ApiKey.objects.get(pk=writer_key.api_key.id).expires_at is None

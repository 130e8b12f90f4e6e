"""POST /v1/consents and GET /v1/subjects/{subject_id}/consents[/{purpose}]."""
import datetime
import uuid

import pytest
from django.utils import timezone

from consents import services
from consents.models import ConsentEvent, ConsentEvidence, CurrentConsent, IdempotencyRecord, Subject
from tests.conftest import client_for, post_consent

pytestmark = pytest.mark.django_db


def iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def status_of(client, subject_id="user-1", purpose="marketing-email"):
    response = client.get(f"/v1/subjects/{subject_id}/consents/{purpose}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_grant_returns_event_and_state(writer, writer_key, marketing):
    occurred = timezone.now() - datetime.timedelta(minutes=1)
    response = post_consent(
        writer,
        subject_id="user-1",
        purpose="marketing-email",
        action="granted",
        occurred_at=iso(occurred),
        source="web",
        evidence={"form": "signup", "page": "/join"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["event"]["subject_id"] == "user-1"
    assert body["event"]["purpose"] == "marketing-email"
    assert body["event"]["version"] == 1
    assert body["event"]["action"] == "granted"
    assert body["event"]["occurred_at"] == iso(occurred)
    assert body["event"]["recorded_at"].endswith("Z")
    assert body["event"]["source"] == "web"
    assert body["event"]["has_evidence"] is True
    assert body["event"]["evidence"] is None  # stored encrypted; read it back with a pii key
    assert body["event"]["api_key_id"] == str(writer_key.api_key.id)
    assert body["state"] == {
        "subject_id": "user-1",
        "purpose": "marketing-email",
        "status": "granted",
        "granted": True,
        "version": 1,
        "occurred_at": iso(occurred),
        "expires_at": iso(occurred + datetime.timedelta(days=365)),
    }

    event = ConsentEvent.objects.get()
    assert str(event.event_id) == body["event"]["event_id"]
    assert event.subject.subject_id == "user-1"
    current = CurrentConsent.objects.get()
    assert current.event_id == event.pk
    assert current.action == "granted"


def test_withdrawal_after_grant(writer, marketing):
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")
    response = post_consent(writer, subject_id="user-1", purpose="marketing-email", action="withdrawn")

    assert response.status_code == 201
    assert response.json()["state"]["status"] == "withdrawn"
    assert response.json()["state"]["granted"] is False
    assert response.json()["state"]["expires_at"] is None
    assert status_of(writer)["status"] == "withdrawn"
    assert ConsentEvent.objects.count() == 2
    assert CurrentConsent.objects.count() == 1


def test_defaults_source_and_occurred_at(writer, marketing):
    before = timezone.now()
    response = post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")

    assert response.status_code == 201
    event = ConsentEvent.objects.get()
    assert event.source == "api"
    assert not ConsentEvidence.objects.exists()
    assert event.occurred_at >= before
    assert event.occurred_at == event.recorded_at


def test_late_event_kept_but_ignored(writer, marketing):
    now = timezone.now()
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted", occurred_at=iso(now))
    late = post_consent(
        writer,
        subject_id="user-1",
        purpose="marketing-email",
        action="withdrawn",
        occurred_at=iso(now - datetime.timedelta(hours=1)),
    )

    assert late.status_code == 201
    assert late.json()["event"]["action"] == "withdrawn"
    assert late.json()["state"]["status"] == "granted"
    assert status_of(writer)["status"] == "granted"
    assert ConsentEvent.objects.count() == 2
    assert CurrentConsent.objects.get().action == "granted"


def test_tie_goes_to_withdrawal(writer, marketing):
    moment = iso(timezone.now())
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="withdrawn", occurred_at=moment)
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted", occurred_at=moment)

    assert status_of(writer)["status"] == "withdrawn"

    post_consent(writer, subject_id="user-2", purpose="marketing-email", action="granted", occurred_at=moment)
    post_consent(writer, subject_id="user-2", purpose="marketing-email", action="withdrawn", occurred_at=moment)

    assert status_of(writer, subject_id="user-2")["status"] == "withdrawn"


def test_material_change_requires_reconsent(writer, marketing):
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")
    services.publish_purpose_version(slug="marketing-email", text="New terms.", material_change=True)

    state = status_of(writer)
    assert state["status"] == "reconsent_required"
    assert state["granted"] is False
    assert state["version"] == 1

    regrant = post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")
    assert regrant.json()["event"]["version"] == 2
    assert status_of(writer)["status"] == "granted"


def test_minor_version_keeps_grant(writer, marketing):
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")
    services.publish_purpose_version(slug="marketing-email", text="Typo fixed.", material_change=False)

    state = status_of(writer)
    assert state["status"] == "granted"
    assert state["version"] == 1


def test_grant_to_old_version_after_material_change(writer, marketing):
    services.publish_purpose_version(slug="marketing-email", text="v2", material_change=True)
    response = post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted", version=1)

    assert response.status_code == 201
    assert response.json()["state"]["status"] == "reconsent_required"


def test_expired_grant(writer, marketing):
    long_ago = timezone.now() - datetime.timedelta(days=400)
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted", occurred_at=iso(long_ago))

    state = status_of(writer)
    assert state["status"] == "expired"
    assert state["granted"] is False
    assert state["expires_at"] == iso(long_ago + datetime.timedelta(days=365))


def test_no_expiry_without_validity(writer, analytics):
    long_ago = timezone.now() - datetime.timedelta(days=4000)
    post_consent(writer, subject_id="user-1", purpose="analytics", action="granted", occurred_at=iso(long_ago))

    state = status_of(writer, purpose="analytics")
    assert state["status"] == "granted"
    assert state["expires_at"] is None


def test_unknown_subject_is_not_set(reader, marketing):
    state = status_of(reader, subject_id="never-seen")

    assert state == {
        "subject_id": "never-seen",
        "purpose": "marketing-email",
        "status": "not_set",
        "granted": False,
        "version": None,
        "occurred_at": None,
        "expires_at": None,
    }
    assert not Subject.objects.exists()


def test_unknown_purpose_is_404(reader, marketing):
    response = reader.get("/v1/subjects/user-1/consents/no-such-purpose")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unknown_purpose"


def test_single_check_is_one_query(reader, writer, marketing, django_assert_num_queries):
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")
    reader.get("/v1/purposes")  # the first use of a key reads its row into the worker's cache
    # The status alone: the key row comes from the cache.
    with django_assert_num_queries(1):
        response = reader.get("/v1/subjects/user-1/consents/marketing-email")
    assert response.json()["status"] == "granted"


def test_every_purpose_state(writer, marketing, analytics):
    post_consent(writer, subject_id="user-1", purpose="analytics", action="granted")

    response = writer.get("/v1/subjects/user-1/consents")

    assert response.status_code == 200
    body = response.json()
    assert body["subject_id"] == "user-1"
    assert {item["purpose"]: item["status"] for item in body["results"]} == {
        "analytics": "granted",
        "marketing-email": "not_set",
    }


def test_subject_id_with_unicode_and_dots(writer, marketing):
    subject_id = "Ünïcødé.user@tenant:42 x"
    response = post_consent(writer, subject_id=subject_id, purpose="marketing-email", action="granted")
    assert response.status_code == 201

    quoted = "%C3%9Cn%C3%AFc%C3%B8d%C3%A9.user@tenant:42%20x"
    check = writer.get(f"/v1/subjects/{quoted}/consents/marketing-email")
    assert check.status_code == 200
    assert check.json()["subject_id"] == subject_id
    assert check.json()["status"] == "granted"


def test_subject_ids_compared_exactly(writer, marketing):
    post_consent(writer, subject_id="User-1", purpose="marketing-email", action="granted")

    assert status_of(writer, subject_id="user-1")["status"] == "not_set"
    assert status_of(writer, subject_id="User-1")["status"] == "granted"


def test_reader_cannot_write(reader, marketing):
    response = post_consent(reader, subject_id="user-1", purpose="marketing-email", action="granted")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "'write'" in response.json()["detail"]
    assert not ConsentEvent.objects.exists()


# --- Idempotency ---------------------------------------------------------------------


def test_idempotent_retry_replays(writer, marketing):
    body = {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted"}
    first = writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    second = writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ConsentEvent.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_idempotency_key_reused_with_other_body(writer, marketing):
    body = {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted"}
    writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    response = writer.post(
        "/v1/consents", {**body, "action": "withdrawn"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert ConsentEvent.objects.count() == 1
    assert CurrentConsent.objects.get().action == "granted"


def test_idempotency_keys_scoped_per_api_key(writer, admin, marketing):
    body = {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted"}
    writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = admin.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert ConsentEvent.objects.count() == 2


def test_idempotency_record_expires(writer, marketing, settings):
    body = {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted"}
    writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))

    again = writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="old")

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert ConsentEvent.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


def test_idempotency_record_kept_within_a_day(writer, marketing):
    body = {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted"}
    writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="recent")
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=23, minutes=59))

    again = writer.post("/v1/consents", body, format="json", HTTP_IDEMPOTENCY_KEY="recent")

    assert again["Idempotent-Replayed"] == "true"
    assert ConsentEvent.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_invalid_idempotency_key(writer, marketing, key):
    response = writer.post(
        "/v1/consents",
        {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not ConsentEvent.objects.exists()


def test_failed_write_stores_nothing(writer, marketing):
    response = writer.post(
        "/v1/consents",
        {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted", "version": 9},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "version"
    assert not ConsentEvent.objects.exists()
    assert not CurrentConsent.objects.exists()
    assert not Subject.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_revoked_key_cannot_write(writer_key, marketing):
    from apikeys.services import update_api_key

    update_api_key(api_key=writer_key.api_key, changes={"active": False}, actor="test")
    response = post_consent(
        client_for(writer_key.secret), subject_id="user-1", purpose="marketing-email", action="granted"
    )

    assert response.status_code == 401
    assert not ConsentEvent.objects.exists()


def test_event_ids_are_uuids(writer, marketing):
    response = post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")

    assert uuid.UUID(response.json()["event"]["event_id"]).version == 4

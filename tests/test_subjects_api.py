"""Subjects' identifiers: encryption at rest, lookup, pii scope, export and erasure."""
import pytest
from django.db import connection

from consents.models import ConsentEvent, ConsentEvidence, CurrentConsent, Erasure, Subject
from tests.conftest import post_consent

pytestmark = pytest.mark.django_db

EMAIL = "Ada.Lovelace@Example.COM"
PHONE = "+44 20 7946 0958"


def create_subject(client, subject_id="user-1", **identifiers):
    return client.post("/v1/subjects", {"subject_id": subject_id, **identifiers}, format="json")


def table_text(table: str) -> str:
    """Return every row of a table as text, the way a dump would show it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 (test-only, constant names)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_create_subject_with_identifiers(privacy):
    response = create_subject(privacy, email=EMAIL, phone=PHONE)

    assert response.status_code == 201
    body = response.json()
    assert body["subject_id"] == "user-1"
    assert body["email"] == "ada.lovelace@example.com"
    assert body["phone"] == "+442079460958"
    assert body["has_email"] is True
    assert body["has_phone"] is True
    subject = Subject.objects.get()
    assert subject.data_key_wrapped is not None
    assert subject.master_key_fingerprint is not None
    assert len(subject.email_blind_index) == 64


def test_identifiers_never_stored_in_clear(privacy, marketing):
    create_subject(privacy, email=EMAIL, phone=PHONE)
    post_consent(
        privacy,
        subject_id="user-1",
        purpose="marketing-email",
        action="granted",
        evidence={"ip_address": "203.0.113.7", "email_typed": "ada.lovelace@example.com"},
    )

    everything = "\n".join(
        table_text(table)
        for table in ("consents_subject", "consents_consentevent", "consents_consentevidence", "consents_idempotencyrecord")
    ).lower()
    for secret in ("ada.lovelace", "example.com", "442079460958", "7946", "203.0.113.7"):
        assert secret not in everything


def test_second_post_updates(privacy):
    create_subject(privacy, email=EMAIL)
    response = create_subject(privacy, phone=PHONE)

    assert response.status_code == 200
    assert response.json()["email"] == "ada.lovelace@example.com"
    assert response.json()["phone"] == "+442079460958"
    assert Subject.objects.count() == 1


def test_identifiers_hidden_without_pii(writer, privacy):
    create_subject(privacy, email=EMAIL)

    response = writer.get("/v1/subjects/user-1")

    assert response.status_code == 200
    body = response.json()
    assert "email" not in body
    assert "phone" not in body
    assert body["has_email"] is True
    assert body["has_phone"] is False


def test_write_key_create_hides_identifiers(writer):
    response = create_subject(writer, email=EMAIL)

    assert response.status_code == 201
    assert "email" not in response.json()


@pytest.mark.parametrize("spelling", ["ada.lovelace@example.com", "  ADA.LOVELACE@EXAMPLE.COM ", "Ada.Lovelace@example.com"])
def test_lookup_ignores_case_and_spaces(privacy, spelling):
    create_subject(privacy, email=EMAIL)

    response = privacy.post("/v1/subjects/lookup", {"email": spelling}, format="json")

    assert response.status_code == 200
    assert response.json()["subject_id"] == "user-1"


def test_lookup_by_phone_any_format(privacy):
    create_subject(privacy, phone="+442079460958")

    response = privacy.post("/v1/subjects/lookup", {"phone": "+44 (0)20 7946-0958"}, format="json")

    assert response.status_code == 200
    assert response.json()["phone"] == "+442079460958"


def test_lookup_unknown_is_404(reader):
    response = reader.post("/v1/subjects/lookup", {"email": "nobody@example.com"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_subject"
    assert "nobody" not in response.content.decode()


@pytest.mark.parametrize("body", [{}, {"email": "a@example.com", "phone": "+442079460958"}])
def test_lookup_needs_exactly_one(reader, body):
    response = reader.post("/v1/subjects/lookup", body, format="json")

    assert response.status_code == 400


def test_two_spellings_one_subject(privacy):
    create_subject(privacy, "user-1", email="ada@example.com")
    response = create_subject(privacy, "user-2", email=" ADA@example.com")

    assert response.status_code == 409
    assert response.json()["code"] == "email_in_use"
    assert response.json()["errors"][0]["field"] == "email"
    assert not Subject.objects.filter(subject_id="user-2", email_blind_index__isnull=False).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("email", "a@"), ("phone", "020 7946 0958"), ("phone", "+1 555"), ("phone", "+abc")],
)
def test_invalid_identifiers_400(privacy, field, value):
    response = create_subject(privacy, **{field: value})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert value not in response.json()["errors"][0]["detail"]
    assert not Subject.objects.exists()


def test_patch_removes_identifier(privacy):
    create_subject(privacy, email=EMAIL, phone=PHONE)

    response = privacy.patch("/v1/subjects/user-1", {"email": None}, format="json")

    assert response.status_code == 200
    assert response.json()["email"] is None
    assert response.json()["phone"] == "+442079460958"
    subject = Subject.objects.get()
    assert subject.email_encrypted is None
    assert subject.email_blind_index is None


def test_patch_unknown_subject_404(privacy):
    assert privacy.patch("/v1/subjects/nobody", {"email": "a@example.com"}, format="json").status_code == 404


def test_evidence_visible_with_pii_only(writer, privacy, marketing):
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted", evidence={"form": "signup"})

    plain = writer.get("/v1/subjects/user-1/events").json()["results"][0]
    revealed = privacy.get("/v1/subjects/user-1/events").json()["results"][0]

    assert plain["has_evidence"] is True
    assert plain["evidence"] is None
    assert revealed["evidence"] == {"form": "signup"}
    assert ConsentEvidence.objects.count() == 1


def test_export_needs_pii(writer, privacy):
    create_subject(privacy, email=EMAIL)
    response = writer.get("/v1/subjects/user-1/export")

    assert response.status_code == 403


def test_export_contains_everything(privacy, marketing):
    create_subject(privacy, email=EMAIL, phone=PHONE)
    post_consent(privacy, subject_id="user-1", purpose="marketing-email", action="granted", evidence={"form": "a"})
    post_consent(privacy, subject_id="user-1", purpose="marketing-email", action="withdrawn")

    response = privacy.get("/v1/subjects/user-1/export")

    assert response.status_code == 200
    body = response.json()
    assert body["subject"]["email"] == "ada.lovelace@example.com"
    assert body["subject"]["phone"] == "+442079460958"
    assert [event["action"] for event in body["events"]] == ["granted", "withdrawn"]
    assert body["events"][0]["evidence"] == {"form": "a"}
    assert body["events"][1]["evidence"] is None
    states = {state["purpose"]: state["status"] for state in body["consents"]}
    assert states["marketing-email"] == "withdrawn"
    assert body["notices"] == [
        {
            "purpose": "marketing-email",
            "number": 1,
            "text": "We would like to email you offers.",
            "text_sha256": body["notices"][0]["text_sha256"],
            "material_change": False,
            "published_at": body["notices"][0]["published_at"],
        }
    ]


def test_erasure_keeps_ledger_only(privacy, admin, marketing):
    create_subject(privacy, email=EMAIL, phone=PHONE)
    post_consent(privacy, subject_id="user-1", purpose="marketing-email", action="granted", evidence={"ip": "203.0.113.7"})
    subject = Subject.objects.get()
    blind_index = subject.email_blind_index

    response = admin.delete("/v1/subjects/user-1")

    assert response.status_code == 200
    body = response.json()
    assert body["subject_id_released"] is False
    assert body["reference"].startswith("erased-")
    subject.refresh_from_db()
    assert subject.data_key_wrapped is None
    assert subject.email_encrypted is None
    assert subject.phone_encrypted is None
    assert subject.email_blind_index is None
    assert subject.erased_at is not None
    assert ConsentEvent.objects.count() == 1
    assert not ConsentEvidence.objects.exists()
    assert not CurrentConsent.objects.exists()
    assert Erasure.objects.get().api_key.name == "admin"
    assert blind_index not in table_text("consents_subject")

    assert privacy.get("/v1/subjects/user-1/export").status_code == 410
    assert privacy.get("/v1/subjects/user-1").status_code == 410
    assert privacy.post("/v1/subjects/lookup", {"email": EMAIL}, format="json").status_code == 404
    history = privacy.get("/v1/subjects/user-1/events").json()["results"]
    assert [(event["action"], event["has_evidence"], event["evidence"]) for event in history] == [
        ("granted", False, None)
    ]
    assert privacy.get("/v1/subjects/user-1/consents/marketing-email").json()["status"] == "not_set"


def test_erased_subject_rejects_writes(privacy, admin, marketing):
    create_subject(privacy, email=EMAIL)
    admin.delete("/v1/subjects/user-1")

    response = post_consent(privacy, subject_id="user-1", purpose="marketing-email", action="granted")

    assert response.status_code == 409
    assert response.json()["code"] == "subject_erased"
    assert ConsentEvent.objects.count() == 0


def test_second_erasure_harmless(privacy, admin):
    create_subject(privacy, email=EMAIL)
    first = admin.delete("/v1/subjects/user-1").json()
    second = admin.delete("/v1/subjects/user-1")

    assert second.status_code == 200
    assert second.json() == first
    assert Erasure.objects.count() == 1


def test_release_subject_id_for_reuse(privacy, admin, marketing):
    create_subject(privacy, email=EMAIL)
    post_consent(privacy, subject_id="user-1", purpose="marketing-email", action="granted")

    erased = admin.delete("/v1/subjects/user-1?release_subject_id=true").json()

    assert erased["subject_id_released"] is True
    assert not Subject.objects.filter(subject_id="user-1").exists()
    assert privacy.get(f"/v1/subjects/{erased['reference']}/events").json()["results"][0]["action"] == "granted"
    reused = create_subject(privacy, email=EMAIL)
    assert reused.status_code == 201
    assert Subject.objects.filter(subject_id="user-1").count() == 1


def test_erasure_needs_admin(privacy):
    create_subject(privacy, email=EMAIL)
    assert privacy.delete("/v1/subjects/user-1").status_code == 403
    assert Subject.objects.get().erased_at is None


def test_undecryptable_row_is_explicit_500(privacy, settings):
    from consents.crypto import generate_key, parse_master_keys

    create_subject(privacy, email=EMAIL)
    settings.CONSENTVAULT_KEYRING = parse_master_keys(generate_key())
    subject_pk = Subject.objects.get().pk

    response = privacy.get("/v1/subjects/user-1")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "undecryptable_data"
    assert f"subject row {subject_pk}" in response.json()["detail"]

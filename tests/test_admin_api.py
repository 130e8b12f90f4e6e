"""Admin endpoints: purposes and their versions, API keys."""
import datetime
import hashlib
import uuid

import pytest
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.services import record_use
from consents.models import Purpose, PurposeVersion
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

NEW_PURPOSE = {
    "slug": "sms-offers",
    "title": "Offers by SMS",
    "description": "Text messages with offers.",
    "legal_basis": "consent",
    "validity_days": 180,
    "text": "We would like to text you offers.",
}


def test_create_purpose(admin):
    response = admin.post("/v1/admin/purposes", NEW_PURPOSE, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "sms-offers"
    assert body["validity_days"] == 180
    assert body["minimum_valid_version"] == 1
    assert body["current_version"]["number"] == 1
    assert body["current_version"]["text"] == NEW_PURPOSE["text"]
    assert body["current_version"]["text_sha256"] == hashlib.sha256(NEW_PURPOSE["text"].encode()).hexdigest()
    purpose = Purpose.objects.get(slug="sms-offers")
    assert purpose.current_version == 1
    assert PurposeVersion.objects.filter(purpose=purpose).count() == 1


def test_create_purpose_defaults(admin):
    response = admin.post("/v1/admin/purposes", {"slug": "x", "title": "X", "text": "t"}, format="json")

    assert response.status_code == 201
    assert response.json()["legal_basis"] == "consent"
    assert response.json()["validity_days"] is None
    assert response.json()["description"] == ""


def test_duplicate_slug_conflicts(admin, marketing):
    response = admin.post("/v1/admin/purposes", {**NEW_PURPOSE, "slug": "marketing-email"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "purpose_exists"
    assert response.json()["errors"][0]["field"] == "slug"
    assert PurposeVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("slug", "Bad Slug"), ("slug", "a--b"), ("legal_basis", "because"), ("validity_days", 0), ("title", "")],
)
def test_create_purpose_invalid(admin, field, value):
    response = admin.post("/v1/admin/purposes", {**NEW_PURPOSE, field: value}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert not Purpose.objects.exists()


def test_patch_purpose(admin, marketing):
    response = admin.patch("/v1/admin/purposes/marketing-email", {"title": "Emails", "validity_days": None}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Emails"
    assert response.json()["validity_days"] is None
    marketing.refresh_from_db()
    assert marketing.title == "Emails"
    assert marketing.validity_days is None
    assert marketing.description == "Offers by email."


def test_patch_cannot_change_slug(admin, marketing):
    response = admin.patch("/v1/admin/purposes/marketing-email", {"slug": "other"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "slug",
        "code": "unknown_field",
        "detail": "Unknown field; remove it or check its spelling.",
    }


def test_patch_unknown_purpose(admin):
    assert admin.patch("/v1/admin/purposes/nope", {"title": "x"}, format="json").status_code == 404


def test_publish_versions(admin, marketing):
    minor = admin.post(
        "/v1/admin/purposes/marketing-email/versions", {"text": "Clarified.", "material_change": False}, format="json"
    )
    major = admin.post(
        "/v1/admin/purposes/marketing-email/versions", {"text": "New uses.", "material_change": True}, format="json"
    )

    assert minor.status_code == 201
    assert minor.json()["number"] == 2
    assert major.json()["number"] == 3
    assert major.json()["material_change"] is True
    marketing.refresh_from_db()
    assert marketing.current_version == 3
    assert marketing.minimum_valid_version == 3

    listed = admin.get("/v1/purposes/marketing-email/versions").json()["results"]
    assert [version["number"] for version in listed] == [1, 2, 3]
    second = admin.get("/v1/purposes/marketing-email/versions/2").json()
    assert second["text"] == "Clarified."
    assert admin.get("/v1/purposes/marketing-email").json()["current_version"]["number"] == 3


def test_publish_requires_material_flag(admin, marketing):
    response = admin.post("/v1/admin/purposes/marketing-email/versions", {"text": "x"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "material_change"
    assert PurposeVersion.objects.count() == 1


def test_unknown_version_404(reader, marketing):
    response = reader.get("/v1/purposes/marketing-email/versions/7")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_version"


def test_admin_endpoints_need_admin_scope(writer, marketing):
    assert writer.post("/v1/admin/purposes", NEW_PURPOSE, format="json").status_code == 403
    assert writer.get("/v1/admin/api-keys").status_code == 403
    assert not Purpose.objects.filter(slug="sms-offers").exists()


def test_purposes_list(reader, marketing, analytics):
    response = reader.get("/v1/purposes")

    assert response.status_code == 200
    slugs = [purpose["slug"] for purpose in response.json()["results"]]
    assert slugs == ["analytics", "marketing-email"]
    assert response.json()["results"][1]["current_version"]["text"] == "We would like to email you offers."


# --- API keys ------------------------------------------------------------------------


def test_create_key_shows_secret_once(admin):
    response = admin.post("/v1/admin/api-keys", {"name": "crm", "scopes": ["read", "write"]}, format="json")

    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    assert secret.startswith(f"cv_{body['prefix']}_")
    assert body["scopes"] == ["read", "write"]
    assert body["active"] is True
    row = ApiKey.objects.get(pk=body["id"])
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row.__dict__)

    shown = admin.get(f"/v1/admin/api-keys/{body['id']}").json()
    assert "secret" not in shown
    assert client_for(secret).get("/v1/purposes").status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"name": "x", "scopes": []}, {"name": "x", "scopes": ["root"]}, {"name": "", "scopes": ["read"]}, {"scopes": ["read"]}],
)
def test_create_key_invalid(admin, body):
    before = ApiKey.objects.count()
    response = admin.post("/v1/admin/api-keys", body, format="json")

    assert response.status_code == 400
    assert ApiKey.objects.count() == before


def test_list_keys_filters(admin, reader_key, writer_key):
    from apikeys.services import update_api_key

    update_api_key(api_key=reader_key.api_key, changes={"active": False}, actor="test")

    names = lambda query: sorted(key["name"] for key in admin.get(f"/v1/admin/api-keys{query}").json()["results"])  # noqa: E731
    assert names("") == ["admin", "reader", "writer"]
    assert names("?active=false") == ["reader"]
    assert names("?active=true") == ["admin", "writer"]
    assert names("?name=writ") == ["writer"]


def test_put_active_false_revokes_at_once(admin, writer, writer_key, marketing):
    assert writer.get("/v1/purposes").status_code == 200

    response = admin.put(f"/v1/admin/api-keys/{writer_key.api_key.id}", {"active": False}, format="json")

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["revoked_at"] is not None
    assert response.json()["name"] == "writer"
    assert response.json()["scopes"] == ["read", "write"]
    rejected = writer.get("/v1/purposes")
    assert rejected.status_code == 401
    assert rejected["WWW-Authenticate"] == 'ApiKey header="X-Api-Key"'
    assert rejected.json()["detail"] == "The API key has been revoked."


def test_patch_key_fields(admin, writer_key):
    expires = (timezone.now() + datetime.timedelta(days=30)).replace(microsecond=0)
    response = admin.patch(
        f"/v1/admin/api-keys/{writer_key.api_key.id}",
        {"name": "crm-2", "scopes": ["read"], "expires_at": expires.isoformat()},
        format="json",
    )

    assert response.status_code == 200
    row = ApiKey.objects.get(pk=writer_key.api_key.id)
    assert row.name == "crm-2"
    assert row.scopes == ["read"]
    assert row.expires_at == expires
    assert row.active is True


def test_expired_key_refused(admin, writer, writer_key):
    ApiKey.objects.filter(pk=writer_key.api_key.id).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = writer.get("/v1/purposes")

    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has expired."


def test_reactivate_key(admin, writer, writer_key):
    admin.put(f"/v1/admin/api-keys/{writer_key.api_key.id}", {"active": False}, format="json")
    admin.put(f"/v1/admin/api-keys/{writer_key.api_key.id}", {"active": True}, format="json")

    assert writer.get("/v1/purposes").status_code == 200
    assert ApiKey.objects.get(pk=writer_key.api_key.id).revoked_at is None


@pytest.mark.parametrize("key_id", ["not-a-uuid", str(uuid.uuid4())])
def test_unknown_key_404(admin, key_id):
    response = admin.put(f"/v1/admin/api-keys/{key_id}", {"active": False}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_api_key"


# --- Authentication -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("nonsense", "The API key is malformed."),
        ("cv_00000000_wrong", "The API key is not valid."),
    ],
)
def test_bad_credentials_401(marketing, header, detail):
    response = client_for(header).get("/v1/purposes")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'ApiKey header="X-Api-Key"'
    assert response.json()["detail"] == detail


def test_wrong_secret_with_real_prefix(reader_key, marketing):
    forged = reader_key.secret[:-4] + "AAAA"
    assert client_for(forged).get("/v1/purposes").status_code == 401


def test_last_used_updated_once_a_minute(reader, reader_key, marketing):
    reader.get("/v1/purposes")
    first = ApiKey.objects.get(pk=reader_key.api_key.id).last_used_at
    reader.get("/v1/purposes")

    assert first is not None
    assert ApiKey.objects.get(pk=reader_key.api_key.id).last_used_at == first


def test_last_used_written_once_across_workers(reader_key):
    now = timezone.now()
    record_use(ApiKey.objects.get(pk=reader_key.api_key.id), now)
    # A second worker still has a copy read before the first write.
    stale_copy = ApiKey.objects.get(pk=reader_key.api_key.id)
    stale_copy.last_used_at = None

    record_use(stale_copy, now + datetime.timedelta(seconds=30))

    assert ApiKey.objects.get(pk=reader_key.api_key.id).last_used_at == now
    assert stale_copy.last_used_at == now + datetime.timedelta(seconds=30)

"""API keys in the staff console: the secret is shown once, every change is audited, nothing is deleted."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session

from apikeys.models import ApiKey, ApiKeyEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-test-password")
    client.force_login(user)
    return client


def test_create_shows_secret_once(staff, marketing):
    response = staff.post(
        "/admin/apikeys/apikey/add/",
        {"name": "crm", "scopes": ["read", "write"], "rate_limit_read": "100/m"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    key = ApiKey.objects.get(name="crm")
    secret = html.split('id="api-key-secret"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert secret.startswith(f"cv_{key.prefix}_")
    assert key.scopes == ["read", "write"]
    assert key.rate_limit_read == "100/m"
    assert key.created_by == "staff:root"
    assert client_for(secret).get("/v1/purposes").status_code == 200
    assert secret not in staff.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert all(secret not in str(session.get_decoded()) for session in Session.objects.all())


def test_revoke_with_reason_is_audited(staff, writer_key, marketing):
    key = writer_key.api_key

    response = staff.post(
        f"/admin/apikeys/apikey/{key.pk}/change/",
        {
            "name": key.name,
            "scopes": key.scopes,
            "expires_at_0": "",
            "expires_at_1": "",
            "rate_limit_read": "",
            "rate_limit_write": "",
            "revoked_reason": "left the company",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    key.refresh_from_db()
    assert key.active is False
    assert key.revoked_reason == "left the company"
    event = ApiKeyEvent.objects.filter(api_key=key).latest("occurred_at")
    assert event.action == "revoked"
    assert event.actor == "staff:root"
    assert client_for(writer_key.secret).get("/v1/purposes").status_code == 401


def test_keys_cannot_be_deleted(staff, writer_key):
    response = staff.post(f"/admin/apikeys/apikey/{writer_key.api_key.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert ApiKey.objects.filter(pk=writer_key.api_key.pk).exists()


def test_bad_rate_rejected_in_form(staff):
    response = staff.post("/admin/apikeys/apikey/add/", {"name": "x", "scopes": ["read"], "rate_limit_read": "lots"})

    assert response.status_code == 200
    assert "is not a rate" in response.content.decode()
    assert not ApiKey.objects.filter(name="x").exists()

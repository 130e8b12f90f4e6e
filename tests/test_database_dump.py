"""A pg_dump of the database contains no personal data in the clear."""
import os
import subprocess

import pytest
from django.db import connection

from tests.conftest import post_consent

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("grace.hopper@example.org", "+14155550123", "203.0.113.99", "Mozilla/5.0 (Hopper)")


def dump() -> str:
    settings = connection.settings_dict
    env = dict(os.environ, PGPASSWORD=settings.get("PASSWORD") or "")
    result = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            settings.get("HOST") or "127.0.0.1",
            "-p",
            str(settings.get("PORT") or 5432),
            "-U",
            settings.get("USER") or "postgres",
            settings["NAME"],
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def test_dump_has_no_plaintext(privacy, admin, marketing):
    privacy.post("/v1/subjects", {"subject_id": "u1", "email": SECRETS[0], "phone": SECRETS[1]}, format="json")
    post_consent(
        privacy,
        subject_id="u1",
        purpose="marketing-email",
        action="granted",
        evidence={"ip_address": SECRETS[2], "user_agent": SECRETS[3]},
    )
    assert privacy.get("/v1/subjects/u1/export").json()["subject"]["email"] == SECRETS[0]

    text = dump()

    assert "consents_subject" in text  # the dump did include the tables
    for secret in SECRETS:
        assert secret not in text
    assert "grace.hopper" not in text.lower()
    assert "4155550123" not in text


def test_dump_after_erasure_has_no_index(privacy, admin, marketing):
    from consents.models import Subject

    privacy.post("/v1/subjects", {"subject_id": "u1", "email": SECRETS[0]}, format="json")
    blind_index = Subject.objects.get().email_blind_index
    assert blind_index in dump()

    admin.delete("/v1/subjects/u1?release_subject_id=true")

    text = dump()
    assert blind_index not in text
    assert "\tu1\t" not in text

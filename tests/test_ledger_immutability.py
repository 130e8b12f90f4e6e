"""The ledger is append-only in the model layer and, on PostgreSQL, in the database."""
import pytest
from django.db import DatabaseError, connection, transaction

from consents.models import ConsentEvent, ImmutableRowError, PurposeVersion
from tests.conftest import post_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(writer, marketing):
    post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted")
    return ConsentEvent.objects.get()


def test_model_save_rejected(event):
    event.action = "withdrawn"
    with pytest.raises(ImmutableRowError):
        event.save()
    assert ConsentEvent.objects.get().action == "granted"


def test_model_delete_rejected(event):
    with pytest.raises(ImmutableRowError):
        event.delete()
    assert ConsentEvent.objects.count() == 1


def test_queryset_update_and_delete_rejected(event):
    with pytest.raises(ImmutableRowError):
        ConsentEvent.objects.filter(pk=event.pk).update(action="withdrawn")
    with pytest.raises(ImmutableRowError):
        ConsentEvent.objects.all().delete()
    with pytest.raises(ImmutableRowError):
        ConsentEvent.objects.bulk_update([event], ["action"])
    assert ConsentEvent.objects.get().action == "granted"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consents_consentevent SET action = 'withdrawn'",
        "DELETE FROM consents_consentevent",
    ],
)
def test_database_trigger_rejects_raw_sql(event, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert ConsentEvent.objects.get().action == "granted"


def test_published_version_immutable(marketing):
    version = PurposeVersion.objects.get()
    version.text = "rewritten history"
    with pytest.raises(ImmutableRowError):
        version.save()
    with pytest.raises(ImmutableRowError):
        version.delete()
    assert PurposeVersion.objects.get().text == "We would like to email you offers."


def test_version_hash_matches_text(marketing):
    import hashlib

    version = PurposeVersion.objects.get()
    assert version.text_sha256 == hashlib.sha256(version.text.encode()).hexdigest()

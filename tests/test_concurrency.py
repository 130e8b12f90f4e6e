"""Parallel writers on PostgreSQL never lose an update to the current state."""
import datetime
import random
import threading

import pytest
from django.db import connections
from django.utils import timezone

from apikeys.services import create_api_key
from consents import services
from consents.models import ConsentEvent, CurrentConsent, IdempotencyRecord
from consents.selectors import consent_status

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
EVENTS_PER_THREAD = 10


def run_in_threads(target, count: int):
    barrier = threading.Barrier(count)
    errors = []

    def worker(index):
        try:
            barrier.wait()
            target(index)
        except Exception as exc:  # reported below, so a failing thread fails the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.fixture
def purpose(db):
    return services.create_purpose(
        slug="marketing-email", title="Marketing", description="", legal_basis="consent", validity_days=None, text="t"
    )


def test_newest_event_wins_under_contention(purpose):
    api_key = create_api_key(name="writer", scopes=["write"], actor="test").api_key
    base = timezone.now() - datetime.timedelta(days=1)
    moments = [base + datetime.timedelta(seconds=offset) for offset in range(THREADS * EVENTS_PER_THREAD)]
    random.Random(7).shuffle(moments)
    newest = max(moments)

    def write(index):
        for step in range(EVENTS_PER_THREAD):
            moment = moments[index * EVENTS_PER_THREAD + step]
            # The newest event is a withdrawal; every other one a grant.
            action = "withdrawn" if moment == newest else "granted"
            services.record_consent_once(
                api_key=api_key,
                idempotency_key=None,
                payload={},
                render=lambda recorded: {},
                subject_id="contended",
                purpose_slug="marketing-email",
                action=action,
                occurred_at=moment,
            )

    run_in_threads(write, THREADS)

    assert ConsentEvent.objects.count() == THREADS * EVENTS_PER_THREAD
    current = CurrentConsent.objects.get()
    assert current.occurred_at == newest
    assert current.action == "withdrawn"
    assert current.event.occurred_at == newest
    assert consent_status(subject_id="contended", purpose_slug="marketing-email").status == "withdrawn"


def test_many_subjects_created_concurrently(purpose):
    api_key = create_api_key(name="writer", scopes=["write"], actor="test").api_key

    def write(index):
        for step in range(EVENTS_PER_THREAD):
            services.record_consent_once(
                api_key=api_key,
                idempotency_key=None,
                payload={},
                render=lambda recorded: {},
                subject_id=f"subject-{step}",
                purpose_slug="marketing-email",
                action="granted",
            )

    run_in_threads(write, THREADS)

    assert ConsentEvent.objects.count() == THREADS * EVENTS_PER_THREAD
    assert CurrentConsent.objects.count() == EVENTS_PER_THREAD


def test_same_idempotency_key_in_parallel_writes_once(purpose):
    api_key = create_api_key(name="writer", scopes=["write"], actor="test").api_key
    payload = {"subject_id": "s", "purpose": "marketing-email", "action": "granted"}
    responses = []

    def write(index):
        result = services.record_consent_once(
            api_key=api_key,
            idempotency_key="same-key",
            payload=payload,
            render=lambda recorded: {"event_id": str(recorded.event.event_id)},
            subject_id="s",
            purpose_slug="marketing-email",
            action="granted",
        )
        responses.append(result)

    run_in_threads(write, THREADS)

    assert ConsentEvent.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert len({result.body["event_id"] for result in responses}) == 1
    assert sum(not result.replayed for result in responses) == 1

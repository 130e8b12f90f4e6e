"""Every write to consent data. Each function commits all its rows or none."""
import datetime
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from prometheus_client import Counter

from apikeys.models import ApiKey
from consentvault.db import aware_utc, fetch_one
from consentvault.errors import Conflict, Unprocessable
from consents.models import (
    Action,
    ConsentEvent,
    ConsentEvidence,
    CurrentConsent,
    IdempotencyRecord,
    Purpose,
    PurposeVersion,
    Subject,
)
from consents import vault
from consents.selectors import ConsentState, get_purpose, state_of

logger = logging.getLogger(__name__)

consent_events = Counter(
    "consentvault_consent_events_total", "Consent events committed to the ledger.", ["purpose", "action"]
)

# How far ahead of the server clock a caller's occurred_at may be, to allow
# for clock skew between the caller and us.
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)

PURPOSE_FIELDS = ("title", "description", "legal_basis", "validity_days")


# --- Purposes ------------------------------------------------------------------------


def create_purpose(
    *, slug: str, title: str, description: str, legal_basis: str, validity_days: int | None, text: str
) -> Purpose:
    """Create a purpose together with version 1 of its notice text."""
    try:
        with transaction.atomic():
            purpose = Purpose.objects.create(
                slug=slug,
                title=title,
                description=description,
                legal_basis=legal_basis,
                validity_days=validity_days,
                current_version=1,
                minimum_valid_version=1,
            )
            PurposeVersion.objects.create(purpose=purpose, number=1, text=text, material_change=False)
    except IntegrityError:
        raise Conflict(f"A purpose with the slug '{slug}' already exists.", field="slug", code="purpose_exists")
    logger.info("Purpose created", extra={"purpose": slug})
    return purpose


def update_purpose(*, slug: str, changes: dict) -> Purpose:
    """Change a purpose's descriptive fields; its slug and versions stay as they are."""
    with transaction.atomic():
        purpose = Purpose.objects.select_for_update().filter(slug=slug).first()
        if purpose is None:
            get_purpose(slug=slug)  # raises NotFound
        for name in PURPOSE_FIELDS:
            if name in changes:
                setattr(purpose, name, changes[name])
        purpose.save()
    logger.info("Purpose updated", extra={"purpose": slug, "fields": sorted(changes)})
    return purpose


def publish_purpose_version(*, slug: str, text: str, material_change: bool) -> PurposeVersion:
    """Publish the next version of a purpose's notice text.

    With ``material_change``, grants given to any earlier version report
    ``reconsent_required`` from this commit on.
    """
    with transaction.atomic():
        purpose = Purpose.objects.select_for_update().filter(slug=slug).first()
        if purpose is None:
            get_purpose(slug=slug)  # raises NotFound
        number = purpose.current_version + 1
        version = PurposeVersion.objects.create(
            purpose=purpose, number=number, text=text, material_change=material_change
        )
        purpose.current_version = number
        if material_change:
            purpose.minimum_valid_version = number
        purpose.save(update_fields=["current_version", "minimum_valid_version", "updated_at"])
    logger.info(
        "Purpose version published",
        extra={"purpose": slug, "version": number, "material_change": material_change},
    )
    return version


# --- Consent events ------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedConsent:
    event: ConsentEvent
    state: ConsentState


@dataclass(frozen=True)
class WriteResponse:
    """An HTTP status and body, as first sent or as replayed for an Idempotency-Key."""

    status: int
    body: dict
    replayed: bool


# Upsert of the pair's current row, in one statement so that concurrent
# writers of one pair cannot lose an update: the database locks the existing
# row and evaluates the WHERE clause against its newest version. The rule:
# the newest occurred_at wins; on a tie a withdrawal wins, and between two
# events with the same action the one recorded later wins. RETURNING yields
# nothing when the event is older than the current state.
_UPSERT_CURRENT_SQL = f"""
    INSERT INTO {CurrentConsent._meta.db_table} AS c
        (subject_id, purpose_id, event_id, version, action, occurred_at, updated_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (subject_id, purpose_id) DO UPDATE SET
        event_id = excluded.event_id,
        version = excluded.version,
        action = excluded.action,
        occurred_at = excluded.occurred_at,
        updated_at = excluded.updated_at
    WHERE excluded.occurred_at > c.occurred_at
        OR (excluded.occurred_at = c.occurred_at
            AND (excluded.action = '{Action.WITHDRAWN}' OR c.action <> '{Action.WITHDRAWN}'))
    RETURNING action, version, occurred_at
"""  # noqa: S608 (constants only)

_CURRENT_SQL = f"""
    SELECT action, version, occurred_at FROM {CurrentConsent._meta.db_table}
    WHERE subject_id = %s AND purpose_id = %s
"""  # noqa: S608 (constants only)

_SUBJECT_SQL = f"""
    SELECT id, master_key_fingerprint, data_key_wrapped, erased_at FROM {Subject._meta.db_table}
    WHERE subject_id = %s
"""  # noqa: S608 (constants only)

_PURPOSE_SQL = f"""
    SELECT id, slug, current_version, minimum_valid_version, validity_days
    FROM {Purpose._meta.db_table} WHERE slug = %s
"""  # noqa: S608 (constants only)


@dataclass(frozen=True)
class _CurrentRow:
    action: str
    version: int
    occurred_at: datetime.datetime


def _purpose_for_write(slug: str) -> Purpose:
    row = fetch_one(_PURPOSE_SQL, [slug])
    if row is None:
        get_purpose(slug=slug, field="purpose")  # raises NotFound naming the slug
    purpose_id, slug, current_version, minimum_valid_version, validity_days = row
    return Purpose(
        id=purpose_id,
        slug=slug,
        current_version=current_version,
        minimum_valid_version=minimum_valid_version,
        validity_days=validity_days,
    )


@dataclass(frozen=True)
class _SubjectKeyRow:
    pk: int
    master_key_fingerprint: str | None
    data_key_wrapped: bytes | None


def ensure_subject(subject_id: str) -> _SubjectKeyRow:
    """Return the subject's row id and wrapped data key, creating the subject with a new data key if needed.

    Raises Conflict for a subject that was erased without releasing its id.
    """
    row = fetch_one(_SUBJECT_SQL, [subject_id])
    if row is None:
        _data_key, master_fingerprint, wrapped = vault.create_data_key()
        # ON CONFLICT DO NOTHING: a concurrent writer may create it first.
        Subject.objects.bulk_create(
            [Subject(subject_id=subject_id, master_key_fingerprint=master_fingerprint, data_key_wrapped=wrapped)],
            ignore_conflicts=True,
        )
        row = fetch_one(_SUBJECT_SQL, [subject_id])
    pk, master_fingerprint, wrapped, erased_at = row
    if erased_at is not None:
        raise Conflict(
            f"Subject '{subject_id}' was erased. To record consents under this id again, erase it with "
            "DELETE /v1/subjects/{subject_id}?release_subject_id=true first.",
            field="subject_id",
            code="subject_erased",
        )
    return _SubjectKeyRow(pk=pk, master_key_fingerprint=master_fingerprint, data_key_wrapped=wrapped)


def record_consent(
    *,
    subject_id: str,
    purpose_slug: str,
    action: str,
    api_key: ApiKey | None,
    version: int | None = None,
    occurred_at: datetime.datetime | None = None,
    source: str = "api",
    evidence: dict | None = None,
) -> RecordedConsent:
    """Append a consent event and bring the pair's current state up to date.

    Must run inside a transaction (``record_consent_once`` opens one). An
    event older than the current state is kept in the ledger but changes
    nothing else.
    """
    now = timezone.now()
    if occurred_at is None:
        occurred_at = now
    elif occurred_at > now + MAX_CLOCK_SKEW:
        raise Unprocessable(
            "occurred_at is more than 5 minutes in the future; send the time the person acted, with its UTC offset.",
            field="occurred_at",
            code="in_future",
        )

    purpose = _purpose_for_write(purpose_slug)
    if version is None:
        version = purpose.current_version
    elif version > purpose.current_version:
        raise Unprocessable(
            f"Purpose '{purpose.slug}' has no version {version}; its current version is {purpose.current_version}.",
            field="version",
            code="unknown_version",
        )

    subject = ensure_subject(subject_id)
    subject_pk = subject.pk
    event = ConsentEvent.objects.create(
        subject_id=subject_pk,
        purpose_id=purpose.pk,
        version=version,
        action=action,
        occurred_at=occurred_at,
        recorded_at=now,
        source=source,
        api_key=api_key,
    )
    if evidence is not None:
        data_key = vault.open_data_key(
            subject_pk=subject_pk, master_fingerprint=subject.master_key_fingerprint, wrapped=subject.data_key_wrapped
        )
        ConsentEvidence.objects.create(event=event, ciphertext=vault.seal_evidence(data_key, event.event_id, evidence))

    row = fetch_one(_UPSERT_CURRENT_SQL, [subject_pk, purpose.pk, event.pk, version, action, occurred_at, now])
    if row is None:  # a late event: the current state stays as it was
        row = fetch_one(_CURRENT_SQL, [subject_pk, purpose.pk])
    current = _CurrentRow(action=row[0], version=row[1], occurred_at=aware_utc(row[2]))

    state = state_of(subject_id=subject_id, purpose=purpose, current=current, now=now)
    transaction.on_commit(lambda: consent_events.labels(purpose=purpose.slug, action=action).inc())
    return RecordedConsent(event=event, state=state)


def request_fingerprint(payload) -> str:
    """Return an HMAC-SHA256 over the canonical JSON of a request body.

    Keyed (with the blind-index key), because the body may carry personal
    data that a plain hash would let anyone confirm by guessing.
    """
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(settings.CONSENTVAULT_BLIND_INDEX_KEY.key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> WriteResponse:
    if record.request_sha256 != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request body; use a new key for a new request.",
            code="idempotency_key_reused",
        )
    return WriteResponse(status=record.response_status, body=record.response_body, replayed=True)


def _live_record(*, api_key: ApiKey, key: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
    if record is None:
        return None
    ttl = datetime.timedelta(hours=settings.CONSENTVAULT_IDEMPOTENCY_TTL_HOURS)
    if record.created_at < timezone.now() - ttl:
        record.delete()
        return None
    return record


def record_consent_once(
    *,
    api_key: ApiKey,
    idempotency_key: str | None,
    payload: dict,
    render: Callable[[RecordedConsent], dict],
    **consent,
) -> WriteResponse:
    """Record a consent event, at most once per ``Idempotency-Key`` of an API key.

    ``payload`` is the raw request body: a retry with the same key and an equal
    body gets the first response back; a different body is rejected with 422.
    ``render`` turns the result into the response body stored for replays.
    The event, the current state and the idempotency record commit together.
    """
    if idempotency_key is None:
        with transaction.atomic():
            recorded = record_consent(api_key=api_key, **consent)
            return WriteResponse(status=201, body=render(recorded), replayed=False)

    fingerprint = request_fingerprint(payload)
    try:
        with transaction.atomic():
            record = _live_record(api_key=api_key, key=idempotency_key)
            if record is not None:
                return _replay(record, fingerprint)
            recorded = record_consent(api_key=api_key, **consent)
            body = render(recorded)
            IdempotencyRecord.objects.create(
                api_key=api_key, key=idempotency_key, request_sha256=fingerprint, response_status=201, response_body=body
            )
            return WriteResponse(status=201, body=body, replayed=False)
    except IntegrityError:
        # A concurrent request with the same key committed first, and our event
        # was rolled back with the rest of the transaction. Replay its response.
        record = IdempotencyRecord.objects.filter(api_key=api_key, key=idempotency_key).first()
        if record is None:
            raise
        return _replay(record, fingerprint)


def purge_idempotency_records(*, older_than: datetime.timedelta) -> int:
    """Delete idempotency records older than ``older_than``; return how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted

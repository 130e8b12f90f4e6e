"""Reads of consent data that carry a rule: what a consent's status is now."""
import collections
import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from prometheus_client import Counter

from consentvault.db import aware_utc, fetch_one
from consentvault.errors import InvalidInput, NotFound
from consents.models import (
    Action,
    ConsentEvent,
    ConsentStatus,
    CurrentConsent,
    Purpose,
    PurposeVersion,
    Subject,
)


consent_checks = Counter("consentvault_consent_checks_total", "Consent statuses answered, by status.", ["status"])


@dataclass(slots=True)
class ConsentState:
    """The status of one (subject, purpose) pair at one moment.

    Not frozen: a bulk check builds 10,000 of these, and frozen dataclasses
    are several times slower to create.
    """

    subject_id: str
    purpose: str
    status: str
    version: int | None
    occurred_at: datetime.datetime | None
    expires_at: datetime.datetime | None

    @property
    def granted(self) -> bool:
        return self.status == ConsentStatus.GRANTED


def evaluate_status(
    *,
    action: str | None,
    version: int | None,
    occurred_at: datetime.datetime | None,
    minimum_valid_version: int,
    validity_days: int | None,
    now: datetime.datetime,
) -> tuple[str, datetime.datetime | None]:
    """Return ``(status, expires_at)`` for the newest event of a pair.

    A withdrawal is final until a new grant. A grant to a version older than
    the purpose's newest material change needs re-consent, which takes
    precedence over expiry because asking again resolves both.
    """
    if action is None:
        return ConsentStatus.NOT_SET, None
    if action == Action.WITHDRAWN:
        return ConsentStatus.WITHDRAWN, None

    expires_at = None
    if validity_days is not None:
        expires_at = occurred_at + datetime.timedelta(days=validity_days)
    if version < minimum_valid_version:
        return ConsentStatus.RECONSENT_REQUIRED, expires_at
    if expires_at is not None and expires_at <= now:
        return ConsentStatus.EXPIRED, expires_at
    return ConsentStatus.GRANTED, expires_at


def state_of(*, subject_id: str, purpose: Purpose, current, now: datetime.datetime) -> ConsentState:
    """Build the state of a pair from its CurrentConsent row (or None)."""
    if current is None:
        action = version = occurred_at = None
    else:
        action, version, occurred_at = current.action, current.version, current.occurred_at
    status, expires_at = evaluate_status(
        action=action,
        version=version,
        occurred_at=occurred_at,
        minimum_valid_version=purpose.minimum_valid_version,
        validity_days=purpose.validity_days,
        now=now,
    )
    return ConsentState(
        subject_id=subject_id,
        purpose=purpose.slug,
        status=status,
        version=version,
        occurred_at=occurred_at,
        expires_at=expires_at,
    )


# The purpose row, joined with the subject's current row for it when there is
# one. One query distinguishes an unknown purpose (no row) from an unset consent.
_CONSENT_STATUS_SQL = f"""
    SELECT p.slug, p.validity_days, p.minimum_valid_version, c.action, c.version, c.occurred_at
    FROM {Purpose._meta.db_table} p
    LEFT JOIN {Subject._meta.db_table} s ON s.subject_id = %s
    LEFT JOIN {CurrentConsent._meta.db_table} c ON c.purpose_id = p.id AND c.subject_id = s.id
    WHERE p.slug = %s
"""  # noqa: S608 (table names are constants)


def consent_status(*, subject_id: str, purpose_slug: str) -> ConsentState:
    """Return the status of one pair in one query; an unknown subject is ``not_set``.

    Raises NotFound when the purpose does not exist.
    """
    row = fetch_one(_CONSENT_STATUS_SQL, [subject_id, purpose_slug])
    if row is None:
        raise NotFound(f"No purpose has the slug '{purpose_slug}'.", field="purpose", code="unknown_purpose")

    slug, validity_days, minimum_valid_version, action, version, occurred_at = row
    occurred_at = aware_utc(occurred_at)
    status, expires_at = evaluate_status(
        action=action,
        version=version,
        occurred_at=occurred_at,
        minimum_valid_version=minimum_valid_version,
        validity_days=validity_days,
        now=timezone.now(),
    )
    consent_checks.labels(status=status).inc()
    return ConsentState(
        subject_id=subject_id,
        purpose=slug,
        status=status,
        version=version,
        occurred_at=occurred_at,
        expires_at=expires_at,
    )


def get_purpose(*, slug: str, field: str | None = None) -> Purpose:
    purpose = Purpose.objects.filter(slug=slug).first()
    if purpose is None:
        raise NotFound(f"No purpose has the slug '{slug}'.", field=field, code="unknown_purpose")
    return purpose


def bulk_consent_status(*, purpose_slug: str, subject_ids: list[str]) -> list[ConsentState]:
    """Return the status of each subject for one purpose, in request order.

    Two queries whatever the number of ids: the purpose, then every current
    row of those subjects. A repeated id appears once in the result.
    """
    purpose = get_purpose(slug=purpose_slug, field="purpose")
    unique_ids = list(dict.fromkeys(subject_ids))
    found = {
        subject_id: (action, version, aware_utc(occurred_at))
        for subject_id, action, version, occurred_at in _current_rows_for(purpose.pk, unique_ids)
    }

    now = timezone.now()
    states = []
    for subject_id in unique_ids:
        action, version, occurred_at = found.get(subject_id, (None, None, None))
        status, expires_at = evaluate_status(
            action=action,
            version=version,
            occurred_at=occurred_at,
            minimum_valid_version=purpose.minimum_valid_version,
            validity_days=purpose.validity_days,
            now=now,
        )
        states.append(ConsentState(subject_id, purpose.slug, status, version, occurred_at, expires_at))
    for status, count in collections.Counter(state.status for state in states).items():
        consent_checks.labels(status=status).inc(count)
    return states


_BULK_SQL = f"""
    SELECT s.subject_id, c.action, c.version, c.occurred_at
    FROM {CurrentConsent._meta.db_table} c
    JOIN {Subject._meta.db_table} s ON s.id = c.subject_id
    WHERE c.purpose_id = %s AND s.subject_id {{match}}
"""  # noqa: S608 (constants only)


def _current_rows_for(purpose_pk: int, subject_ids: list[str]) -> list[tuple]:
    """Return (subject_id, action, version, occurred_at) of the ids that have a current row.

    PostgreSQL gets the ids as one array parameter: 10,000 separate
    placeholders cost more to bind and plan than the lookups themselves.
    """
    if connection.vendor == "postgresql":
        sql, params = _BULK_SQL.format(match="= ANY(%s)"), [purpose_pk, subject_ids]
    else:
        placeholders = ", ".join(["%s"] * len(subject_ids))
        sql, params = _BULK_SQL.format(match=f"IN ({placeholders})"), [purpose_pk, *subject_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def subject_consents(*, subject_id: str) -> list[ConsentState]:
    """Return the status of every purpose for one subject, ``not_set`` where none."""
    purposes = list(Purpose.objects.all())
    current = {
        row.purpose_id: row
        for row in CurrentConsent.objects.filter(subject__subject_id=subject_id).only(
            "purpose_id", "action", "version", "occurred_at"
        )
    }
    now = timezone.now()
    return [
        state_of(subject_id=subject_id, purpose=purpose, current=current.get(purpose.pk), now=now)
        for purpose in purposes
    ]


# --- Ledger history, newest first, with keyset pagination ----------------------------


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def encode_cursor(event: ConsentEvent) -> str:
    """Return ``<occurred_at in microseconds since 1970>.<id>`` of the last row shown."""
    micros = (event.occurred_at - _EPOCH) // datetime.timedelta(microseconds=1)
    return f"{micros}.{event.pk}"


def decode_cursor(cursor: str) -> tuple[datetime.datetime, int]:
    micros, _, pk = cursor.partition(".")
    if not (micros.isdigit() and pk.isdigit()) or len(micros) > 17 or len(pk) > 18:
        raise InvalidInput("The cursor is invalid; pass the 'next' link of a previous page.", field="cursor")
    return _EPOCH + datetime.timedelta(microseconds=int(micros)), int(pk)


def subject_history(*, subject_id: str, cursor: str | None, limit: int) -> tuple[list[ConsentEvent], str | None]:
    """Return one page of a subject's ledger and the cursor of the next page.

    Ordered by ``occurred_at`` then id, both descending. The cursor names the
    last row shown, so rows added meanwhile never shift a page (no OFFSET, no
    COUNT).
    """
    events = (
        ConsentEvent.objects.filter(subject__subject_id=subject_id)
        .select_related("purpose", "evidence")
        .order_by("-occurred_at", "-id")
    )
    if cursor:
        occurred_at, pk = decode_cursor(cursor)
        events = events.filter(Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, id__lt=pk))

    page = list(events[: limit + 1])
    next_cursor = encode_cursor(page[limit - 1]) if len(page) > limit else None
    return page[:limit], next_cursor


def purpose_version(*, slug: str, number: int) -> PurposeVersion:
    version = PurposeVersion.objects.filter(purpose__slug=slug, number=number).select_related("purpose").first()
    if version is None:
        get_purpose(slug=slug)  # a 404 that names the purpose when it is the missing part
        raise NotFound(f"Purpose '{slug}' has no version {number}.", code="unknown_version")
    return version


def current_versions(purposes) -> dict[int, PurposeVersion]:
    """Return each purpose's current version keyed by purpose id, in one query."""
    conditions = Q()
    for purpose in purposes:
        conditions |= Q(purpose_id=purpose.pk, number=purpose.current_version)
    if not conditions:
        return {}
    return {version.purpose_id: version for version in PurposeVersion.objects.filter(conditions)}

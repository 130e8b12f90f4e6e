"""Reads of subjects and their personal data, decrypted only when the caller may see it."""
from dataclasses import dataclass

from consentvault.errors import DomainError, NotFound
from consents import vault
from consents.models import ConsentEvent, PurposeVersion, Subject
from consents.selectors import ConsentState, subject_consents


class SubjectErased(DomainError):
    status = 410
    code = "subject_erased"


@dataclass(frozen=True)
class SubjectView:
    subject: Subject
    email: str | None
    phone: str | None
    identifiers_included: bool


def _data_key(subject: Subject) -> bytes:
    return vault.open_data_key(
        subject_pk=subject.pk, master_fingerprint=subject.master_key_fingerprint, wrapped=subject.data_key_wrapped
    )


def _view(subject: Subject, include_identifiers: bool) -> SubjectView:
    if not include_identifiers:
        return SubjectView(subject=subject, email=None, phone=None, identifiers_included=False)
    data_key = _data_key(subject)
    return SubjectView(
        subject=subject,
        email=vault.open_identifier(data_key, vault.EMAIL, subject.email_encrypted, subject_pk=subject.pk),
        phone=vault.open_identifier(data_key, vault.PHONE, subject.phone_encrypted, subject_pk=subject.pk),
        identifiers_included=True,
    )


def live_subject(subject_id: str) -> Subject:
    """Return the subject, or raise NotFound (unknown) or SubjectErased (410)."""
    subject = Subject.objects.filter(subject_id=subject_id).first()
    if subject is None:
        raise NotFound(f"No subject has the id '{subject_id}'.", field="subject_id", code="unknown_subject")
    if subject.erased_at is not None:
        raise SubjectErased(
            f"Subject '{subject_id}' was erased on {subject.erased_at:%Y-%m-%d}; "
            "its identifiers and evidence no longer exist. Its ledger remains readable under /events."
        )
    return subject


def subject_detail(*, subject_id: str, include_identifiers: bool) -> SubjectView:
    return _view(live_subject(subject_id), include_identifiers)


def lookup_subject(*, kind: str, normalized_value: str, include_identifiers: bool) -> SubjectView:
    """Find a live subject by the blind index of a normalised email or phone number."""
    index = vault.identifier_index(kind, normalized_value)
    subject = Subject.objects.filter(**{f"{kind}_blind_index": index}, erased_at__isnull=True).first()
    if subject is None:
        raise NotFound(f"No subject has this {kind}.", field=kind, code="unknown_subject")
    return _view(subject, include_identifiers)


def events_evidence(*, subject_id: str, events: list[ConsentEvent]) -> dict[int, dict]:
    """Decrypt the evidence of ``events`` (fetched with ``select_related("evidence")``), keyed by event row id.

    An erased subject has no evidence left, so the result is empty.
    """
    with_evidence = [event for event in events if _evidence_of(event) is not None]
    if not with_evidence:
        return {}
    subject = Subject.objects.filter(subject_id=subject_id).first()
    if subject is None or subject.erased_at is not None:
        return {}
    data_key = _data_key(subject)
    return {
        event.pk: vault.open_evidence(data_key, event.event_id, _evidence_of(event).ciphertext, event_pk=event.pk)
        for event in with_evidence
    }


def _evidence_of(event: ConsentEvent):
    try:
        return event.evidence
    except ConsentEvent.evidence.RelatedObjectDoesNotExist:
        return None


def has_evidence(event: ConsentEvent) -> bool:
    return _evidence_of(event) is not None


@dataclass(frozen=True)
class SubjectExport:
    view: SubjectView
    consents: list[ConsentState]
    events: list[ConsentEvent]
    evidence: dict[int, dict]
    versions: list[PurposeVersion]


def export_subject(*, subject_id: str) -> SubjectExport:
    """Collect everything held about a subject: identifiers, states, the full ledger with
    evidence, and the notice texts of every purpose version it acted on."""
    subject = live_subject(subject_id)
    view = _view(subject, include_identifiers=True)
    events = list(
        ConsentEvent.objects.filter(subject=subject)
        .select_related("purpose", "evidence")
        .order_by("occurred_at", "id")
    )
    data_key = _data_key(subject)
    evidence = {
        event.pk: vault.open_evidence(data_key, event.event_id, event.evidence.ciphertext, event_pk=event.pk)
        for event in events
        if has_evidence(event)
    }
    pairs = {(event.purpose_id, event.version) for event in events}
    versions = sorted(
        (
            version
            for version in PurposeVersion.objects.filter(purpose_id__in={purpose for purpose, _ in pairs}).select_related(
                "purpose"
            )
            if (version.purpose_id, version.number) in pairs
        ),
        key=lambda version: (version.purpose.slug, version.number),
    )
    return SubjectExport(
        view=view,
        consents=subject_consents(subject_id=subject_id),
        events=events,
        evidence=evidence,
        versions=versions,
    )


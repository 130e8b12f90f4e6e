"""Writes of subjects' personal data: identifiers and erasure."""
import logging
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.models import ApiKey
from consentvault.errors import Conflict, NotFound
from consents import vault
from consents.models import ConsentEvidence, CurrentConsent, Erasure, Subject
from consents.services import ensure_subject

logger = logging.getLogger(__name__)

# Sentinel for "leave this identifier as it is".
UNCHANGED = object()


def _locked_subject(subject_id: str) -> Subject:
    subject = Subject.objects.select_for_update().filter(subject_id=subject_id).first()
    if subject is None:
        raise NotFound(f"No subject has the id '{subject_id}'.", field="subject_id", code="unknown_subject")
    if subject.erased_at is not None:
        raise Conflict(
            f"Subject '{subject_id}' was erased; its identifiers cannot be changed.",
            field="subject_id",
            code="subject_erased",
        )
    return subject


def _apply_identifier(subject: Subject, data_key: bytes, kind: str, normalized: str | None) -> None:
    if normalized is None:
        setattr(subject, f"{kind}_encrypted", None)
        setattr(subject, f"{kind}_blind_index", None)
        return
    setattr(subject, f"{kind}_encrypted", vault.seal_identifier(data_key, kind, normalized))
    setattr(subject, f"{kind}_blind_index", vault.identifier_index(kind, normalized))


def set_identifiers(*, subject_id: str, email=UNCHANGED, phone=UNCHANGED, create: bool) -> tuple[Subject, bool]:
    """Set a subject's normalised email and phone (None removes one); return (subject, created).

    With ``create``, an unknown subject is created with a new data key;
    without it, an unknown subject is NotFound. An identifier that belongs to
    another subject is a Conflict, and nothing is written.
    """
    created = False
    try:
        with transaction.atomic():
            if create and not Subject.objects.filter(subject_id=subject_id).exists():
                ensure_subject(subject_id)
                created = True
            subject = _locked_subject(subject_id)
            data_key = vault.open_data_key(
                subject_pk=subject.pk,
                master_fingerprint=subject.master_key_fingerprint,
                wrapped=subject.data_key_wrapped,
            )
            if email is not UNCHANGED:
                _apply_identifier(subject, data_key, vault.EMAIL, email)
            if phone is not UNCHANGED:
                _apply_identifier(subject, data_key, vault.PHONE, phone)
            subject.save()
    except IntegrityError:
        kind = _taken_identifier(subject_id, email, phone)
        raise Conflict(
            f"This {kind} already belongs to another subject; one {kind} identifies at most one subject.",
            field=kind,
            code=f"{kind}_in_use",
        )
    logger.info("Subject identifiers set", extra={"subject_pk": subject.pk, "subject_created": created})
    return subject, created


def _taken_identifier(subject_id: str, email, phone) -> str:
    if email not in (UNCHANGED, None):
        owner = Subject.objects.filter(email_blind_index=vault.identifier_index(vault.EMAIL, email)).first()
        if owner is not None and owner.subject_id != subject_id:
            return vault.EMAIL
    return vault.PHONE


def erase_subject(*, subject_id: str, release_subject_id: bool, api_key: ApiKey | None) -> Erasure:
    """Erase a subject by crypto-shredding, and record the erasure.

    Destroys the wrapped data key, the encrypted identifiers, their blind
    indexes and the encrypted evidence, so none of it can be recovered from
    this database or any backup of it. The ledger rows stay, as proof of what
    was consented to and when, under the subject's row id. The current states
    are removed, so checks report ``not_set``. With ``release_subject_id`` the
    caller's id is replaced by a pseudonymous reference and may be used again
    for a new subject. Erasing an erased subject returns the first erasure.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().filter(subject_id=subject_id).first()
        if subject is None:
            raise NotFound(f"No subject has the id '{subject_id}'.", field="subject_id", code="unknown_subject")
        if subject.erased_at is not None:
            previous = subject.erasure
            if release_subject_id and not previous.subject_id_released:
                subject.subject_id = previous.reference
                subject.save(update_fields=["subject_id", "updated_at"])
                previous.subject_id_released = True
                previous.save(update_fields=["subject_id_released"])
                logger.info(
                    "Erased subject's id released",
                    extra={"subject_pk": subject.pk, "erasure_reference": previous.reference},
                )
            return previous

        reference = f"erased-{uuid.uuid4()}"
        now = timezone.now()
        ConsentEvidence.objects.filter(event__subject=subject).delete()
        CurrentConsent.objects.filter(subject=subject).delete()
        subject.data_key_wrapped = None
        subject.master_key_fingerprint = None
        subject.email_encrypted = None
        subject.phone_encrypted = None
        subject.email_blind_index = None
        subject.phone_blind_index = None
        subject.erased_at = now
        if release_subject_id:
            subject.subject_id = reference
        subject.save()
        erasure = Erasure.objects.create(
            subject=subject,
            reference=reference,
            subject_id_released=release_subject_id,
            erased_at=now,
            api_key=api_key,
        )
    logger.info(
        "Subject erased",
        extra={"subject_pk": subject.pk, "erasure_reference": reference, "released": release_subject_id},
    )
    return erasure

"""Encryption of subjects' personal data with the configured keys.

``consents.crypto`` contains the primitives. This module applies them to
subjects: it creates and opens data keys, and seals and opens identifiers and
evidence under them.
"""
import json
import logging
import uuid

from django.conf import settings

from consentvault.errors import DomainError
from consents import crypto

logger = logging.getLogger(__name__)

EMAIL = "email"
PHONE = "phone"


class UndecryptableData(DomainError):
    """Stored personal data that no configured master key can decrypt."""

    status = 500
    code = "undecryptable_data"


def keyring() -> crypto.KeyRing:
    return settings.CONSENTVAULT_KEYRING


def create_data_key() -> tuple[bytes, str, bytes]:
    """Return a new data key with the fingerprint of its master key and its wrapped form."""
    data_key = crypto.new_data_key()
    master_fingerprint, wrapped = keyring().wrap(data_key)
    return data_key, master_fingerprint, wrapped


def open_data_key(*, subject_pk: int, master_fingerprint: str | None, wrapped: bytes | None) -> bytes:
    """Unwrap a subject's data key, or raise UndecryptableData naming the subject row.

    The error is logged with the row id and the fingerprint, never with key
    material or personal data.
    """
    if wrapped is None or master_fingerprint is None:
        raise UndecryptableData(f"Subject row {subject_pk} has no data key; it was erased.")
    try:
        return keyring().unwrap(master_fingerprint, bytes(wrapped))
    except crypto.DecryptionError as exc:
        logger.error(
            "Data key cannot be decrypted",
            extra={"subject_pk": subject_pk, "master_key_fingerprint": master_fingerprint, "reason": str(exc)},
        )
        raise UndecryptableData(
            f"The data key of subject row {subject_pk} cannot be decrypted with the configured master keys "
            f"(it is wrapped by master key {master_fingerprint}). Restore that key in CONSENTVAULT_MASTER_KEYS."
        ) from None


def seal_identifier(data_key: bytes, kind: str, value: str) -> bytes:
    return crypto.encrypt(data_key, value.encode("utf-8"), kind.encode("ascii"))


def open_identifier(data_key: bytes, kind: str, blob: bytes | None, *, subject_pk: int) -> str | None:
    if blob is None:
        return None
    try:
        return crypto.decrypt(data_key, blob, kind.encode("ascii")).decode("utf-8")
    except crypto.DecryptionError as exc:
        logger.error("Identifier cannot be decrypted", extra={"subject_pk": subject_pk, "field": kind, "reason": str(exc)})
        raise UndecryptableData(f"The {kind} of subject row {subject_pk} cannot be decrypted.") from None


def evidence_aad(event_id: uuid.UUID) -> bytes:
    # Binding the ciphertext to its event stops evidence from being moved to another event.
    return b"evidence\x00" + event_id.bytes


def seal_evidence(data_key: bytes, event_id: uuid.UUID, evidence: dict) -> bytes:
    # ensure_ascii keeps NUL characters and lone surrogates, which valid JSON may carry, round-trippable.
    plaintext = json.dumps(evidence, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return crypto.encrypt(data_key, plaintext, evidence_aad(event_id))


def open_evidence(data_key: bytes, event_id: uuid.UUID, blob: bytes, *, event_pk: int) -> dict:
    try:
        return json.loads(crypto.decrypt(data_key, blob, evidence_aad(event_id)))
    except crypto.DecryptionError as exc:
        logger.error("Evidence cannot be decrypted", extra={"event_pk": event_pk, "reason": str(exc)})
        raise UndecryptableData(f"The evidence of consent event row {event_pk} cannot be decrypted.") from None


def identifier_index(kind: str, normalized_value: str) -> str:
    return crypto.blind_index(settings.CONSENTVAULT_BLIND_INDEX_KEY, kind, normalized_value)

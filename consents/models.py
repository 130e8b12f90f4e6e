import hashlib
import uuid

from django.db import models
from django.utils import timezone


class LegalBasis(models.TextChoices):
    """The lawful bases of GDPR Article 6(1)."""

    CONSENT = "consent", "Consent"
    CONTRACT = "contract", "Contract"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
    VITAL_INTERESTS = "vital_interests", "Vital interests"
    PUBLIC_TASK = "public_task", "Public task"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests"


class Action(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConsentStatus(models.TextChoices):
    """The status reported for a (subject, purpose) pair; only GRANTED means the consent may be relied on."""

    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"
    RECONSENT_REQUIRED = "reconsent_required", "Re-consent required"
    NOT_SET = "not_set", "Not set"


class ImmutableRowError(Exception):
    """Raised on an attempt to change or delete a row that is append-only."""


class Purpose(models.Model):
    """Something a person may consent to, such as ``marketing-email``.

    ``current_version`` and ``minimum_valid_version`` mirror the versions
    table, so a consent check needs no extra join: a grant to a version below
    ``minimum_valid_version`` (the newest material change) needs re-consent.
    """

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices, default=LegalBasis.CONSENT)
    validity_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days a grant stays valid; empty means it does not expire."
    )
    current_version = models.PositiveIntegerField(default=0, editable=False)
    minimum_valid_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class PurposeVersion(models.Model):
    """One published notice text of a purpose; never changed once stored."""

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64, editable=False)
    material_change = models.BooleanField(default=False)
    published_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["purpose", "number"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "number"], name="purpose_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose_id} v{self.number}"

    @staticmethod
    def hash_text(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError("A published purpose version cannot be changed; publish a new version.")
        self.text_sha256 = self.hash_text(self.text)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("A published purpose version cannot be deleted.")


class Subject(models.Model):
    """A data subject, known by the caller's own opaque ``subject_id``.

    Ledger rows point at the surrogate primary key, never at ``subject_id``,
    so the caller's identifier can later be erased without touching the ledger.

    Personal data is stored only encrypted under the subject's data key, which
    is stored wrapped by a master key (see ``consents.crypto``). The blind
    indexes are HMACs of the normalised identifiers, for exact lookups.
    Erasure destroys the wrapped data key, the ciphertexts and the indexes.
    """

    subject_id = models.CharField(max_length=255, unique=True)
    data_key_wrapped = models.BinaryField(null=True, editable=False)
    master_key_fingerprint = models.CharField(max_length=16, null=True, editable=False, db_index=True)
    data_key_rotated_at = models.DateTimeField(null=True, editable=False)
    email_encrypted = models.BinaryField(null=True, editable=False)
    phone_encrypted = models.BinaryField(null=True, editable=False)
    email_blind_index = models.CharField(max_length=64, null=True, unique=True, editable=False)
    phone_blind_index = models.CharField(max_length=64, null=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        permissions = [
            ("view_personal_data", "Can view personal data (reveal identifiers and evidence)"),
            ("export_subject", "Can export everything held about a subject"),
            ("erase_subject", "Can erase a subject"),
        ]

    def __str__(self) -> str:
        return self.subject_id


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRowError("Consent events are append-only and cannot be updated.")

    def delete(self):
        raise ImmutableRowError("Consent events are append-only and cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableRowError("Consent events are append-only and cannot be updated.")

    def update_or_create(self, *args, **kwargs):
        raise ImmutableRowError("Consent events are append-only; use create().")


class ConsentEvent(models.Model):
    """One grant or withdrawal, as the person gave it: the ledger.

    Rows are only ever inserted. The model refuses updates and deletes, and on
    PostgreSQL a trigger rejects them too (migration
    ``0002_consent_event_append_only_trigger``).
    """

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="events")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="events")
    version = models.PositiveIntegerField()
    action = models.CharField(max_length=16, choices=Action.choices)
    occurred_at = models.DateTimeField(help_text="When the person acted, as reported by the caller.")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    source = models.CharField(max_length=32)
    api_key = models.ForeignKey(
        "apikeys.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="consent_events"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["subject", "-occurred_at", "-id"], name="event_subject_history_idx"),
            models.Index(fields=["purpose", "-occurred_at"], name="event_purpose_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.purpose_id} v{self.version} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError("Consent events are append-only and cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("Consent events are append-only and cannot be deleted.")


class ConsentEvidence(models.Model):
    """The evidence of one consent event, encrypted under its subject's data key.

    Kept beside the ledger, not in it, so that rotating a subject's data key
    re-encrypts evidence without touching the append-only ledger rows.
    """

    event = models.OneToOneField(ConsentEvent, on_delete=models.PROTECT, primary_key=True, related_name="evidence")
    ciphertext = models.BinaryField()


class CurrentConsent(models.Model):
    """The newest event of one (subject, purpose) pair, kept in step with the ledger.

    On equal ``occurred_at`` a withdrawal wins. Updated only by
    ``consents.services.record_consent``, in the transaction that appends the
    event.
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="current_consents")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="current_consents")
    event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()
    action = models.CharField(max_length=16, choices=Action.choices)
    occurred_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject", "purpose"], name="current_consent_pair_unique"),
        ]
        indexes = [
            models.Index(fields=["purpose", "action"], name="current_purpose_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id}/{self.purpose_id}: {self.action}"


class IdempotencyRecord(models.Model):
    """The first response to a write sent with an ``Idempotency-Key`` header.

    Scoped to the API key that sent it; a retry within the retention window
    gets this response back instead of writing again.
    """

    api_key = models.ForeignKey("apikeys.ApiKey", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_sha256 = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_per_api_key_unique"),
        ]


class Erasure(models.Model):
    """The record that a subject was erased: when, by which key, under which reference.

    ``reference`` is the pseudonymous id the subject's ledger can still be read
    under once its ``subject_id`` is released. The original id is not kept.
    """

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="erasure")
    reference = models.CharField(max_length=64, unique=True)
    subject_id_released = models.BooleanField(default=False)
    erased_at = models.DateTimeField(default=timezone.now)
    api_key = models.ForeignKey("apikeys.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+")


class DataKeyRotation(models.Model):
    """One run of ``reencrypt --rotate-data-keys``, so that a killed run resumes where it stopped.

    Subjects whose ``data_key_rotated_at`` is older than ``started_at`` have
    not been re-keyed by this run yet.
    """

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)


class StaffAction(models.Model):
    """A staff member's action on personal data in the admin: the console's audit log."""

    class Kind(models.TextChoices):
        REVEAL = "reveal", "Revealed identifiers"
        EXPORT = "export", "Exported the subject's data"
        ERASE = "erase", "Erased the subject"
        PUBLISH = "publish", "Published a purpose version"

    actor = models.CharField(max_length=150, help_text="The staff member's user name.")
    action = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    details = models.CharField(max_length=200, blank=True, default="", help_text="What was acted on, such as a purpose version.")
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

import uuid

from django.db import models


class Scope(models.TextChoices):
    READ = "read", "Read consents and purposes"
    WRITE = "write", "Record consent events"
    PII = "pii", "Read decrypted personal data: identifiers, evidence, exports"
    ADMIN = "admin", "Manage purposes, API keys and erasures"


class ApiKey(models.Model):
    """A credential for the REST API.

    The secret is shown once, when the key is created, and only its SHA-256
    is stored. ``prefix`` is public: it identifies the key in lists and logs
    and finds the row when a request presents the secret.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_reason = models.CharField(max_length=500, blank=True, default="")
    created_by = models.CharField(max_length=200, blank=True, default="", editable=False)
    # After a rotation the previous secret keeps working until this time.
    previous_secret_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Overrides of CONSENTVAULT_RATE_READ / CONSENTVAULT_RATE_WRITE, in django-ratelimit's form ("1200/m").
    rate_limit_read = models.CharField(max_length=32, null=True, blank=True)
    rate_limit_write = models.CharField(max_length=32, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    # DRF treats the authenticated principal as a user object.
    @property
    def is_authenticated(self) -> bool:
        return True

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class ApiKeyEvent(models.Model):
    """One change to an API key, with who made it: the key's audit trail. It never contains a secret."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        ROTATED = "rotated", "Rotated"
        REVOKED = "revoked", "Revoked"
        REACTIVATED = "reactivated", "Reactivated"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.CharField(max_length=200, help_text="api-key:<id>, command:<user> or staff:<username>.")
    occurred_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

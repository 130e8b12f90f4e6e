"""Request parsing and response shapes of the API-key admin endpoints."""
from django.core.validators import RegexValidator
from rest_framework import serializers

from apikeys.models import Scope
from apikeys.rates import parse_rate
from consentvault.serializers import (
    AwareDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
    format_timestamp,
)


class ScopeListField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=StrictChoiceField(choices=Scope.choices), min_length=1, max_length=len(Scope.values), **kwargs
        )


RATE_PATTERN = r"^[1-9][0-9]*/([1-9][0-9]*)?[smhd]$"


class RateField(StrictCharField):
    """A rate limit such as 1200/m; null falls back to the service default."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("validators", [RegexValidator(RATE_PATTERN, "Must be requests/period, such as 1200/m or 5/10s.")])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            parse_rate(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid")
        return value


class CreateApiKeyRequest(StrictSerializer):
    name = StrictCharField(max_length=100)
    scopes = ScopeListField()
    expires_at = AwareDateTimeField(required=False, allow_null=True, default=None, help_text="Must lie in the future.")
    rate_limit_read = RateField(required=False, default=None, help_text="Overrides CONSENTVAULT_RATE_READ.")
    rate_limit_write = RateField(required=False, default=None, help_text="Overrides CONSENTVAULT_RATE_WRITE.")


class UpdateApiKeyRequest(StrictSerializer):
    """Every field is optional: omitted fields keep their value, with PUT as with PATCH."""

    name = StrictCharField(max_length=100, required=False)
    scopes = ScopeListField(required=False)
    active = StrictBooleanField(required=False, help_text="false revokes the key from the next request on.")
    expires_at = AwareDateTimeField(required=False, allow_null=True, help_text="Must lie in the future.")
    rate_limit_read = RateField(required=False, help_text="Overrides CONSENTVAULT_RATE_READ; null removes it.")
    rate_limit_write = RateField(required=False, help_text="Overrides CONSENTVAULT_RATE_WRITE; null removes it.")
    revoked_reason = StrictCharField(
        required=False, max_length=500, allow_blank=True, help_text="Why the key is revoked, with active false."
    )


class RevokeApiKeyQuery(StrictSerializer):
    reason = StrictCharField(required=False, max_length=500, allow_blank=True, help_text="Why the key is revoked.")


class RotateApiKeyRequest(StrictSerializer):
    grace_seconds = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=30 * 86400,
        default=86400,
        help_text="Seconds the current secret keeps working (default 86400, 0 stops it at once).",
    )


class ApiKeyListQuery(StrictSerializer):
    active = StrictChoiceField(
        choices=[("true", "true"), ("false", "false")], required=False, help_text="Only active or only revoked keys."
    )
    name = StrictCharField(required=False, max_length=100)


class ApiKeyResponse(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="Public part of the key, shown in lists and logs.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    active = serializers.BooleanField()
    created_at = AwareDateTimeField()
    expires_at = AwareDateTimeField(allow_null=True)
    last_used_at = AwareDateTimeField(allow_null=True, help_text="Updated at most once a minute.")
    revoked_at = AwareDateTimeField(allow_null=True)
    revoked_reason = serializers.CharField()
    created_by = serializers.CharField()
    rate_limit_read = serializers.CharField(allow_null=True)
    rate_limit_write = serializers.CharField(allow_null=True)
    previous_secret_expires_at = AwareDateTimeField(
        allow_null=True, help_text="Until then, the secret replaced by the last rotation still works."
    )


class ApiKeyWithSecretResponse(ApiKeyResponse):
    secret = serializers.CharField(help_text="The key to send as X-Api-Key. Shown in this response only.")


class ApiKeyListResponse(serializers.Serializer):
    results = ApiKeyResponse(many=True)


def api_key_to_dict(api_key) -> dict:
    return {
        "id": str(api_key.id),
        "name": api_key.name,
        "prefix": api_key.prefix,
        "scopes": list(api_key.scopes),
        "active": api_key.active,
        "created_at": format_timestamp(api_key.created_at),
        "expires_at": format_timestamp(api_key.expires_at),
        "last_used_at": format_timestamp(api_key.last_used_at),
        "revoked_at": format_timestamp(api_key.revoked_at),
        "revoked_reason": api_key.revoked_reason,
        "created_by": api_key.created_by,
        "rate_limit_read": api_key.rate_limit_read,
        "rate_limit_write": api_key.rate_limit_write,
        "previous_secret_expires_at": format_timestamp(api_key.previous_secret_expires_at),
    }

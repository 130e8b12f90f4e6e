"""Request parsing and response shapes of the API-key admin endpoints."""
from rest_framework import serializers

from apikeys.models import Scope
from consentvault.serializers import (
    AwareDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
    format_timestamp,
)


class ScopeListField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=StrictChoiceField(choices=Scope.choices), min_length=1, max_length=len(Scope.values), **kwargs
        )


class CreateApiKeyRequest(StrictSerializer):
    name = StrictCharField(max_length=100)
    scopes = ScopeListField()
    expires_at = AwareDateTimeField(required=False, allow_null=True, default=None)


class UpdateApiKeyRequest(StrictSerializer):
    """Every field is optional: omitted fields keep their value, with PUT as with PATCH."""

    name = StrictCharField(max_length=100, required=False)
    scopes = ScopeListField(required=False)
    active = StrictBooleanField(required=False, help_text="false revokes the key from the next request on.")
    expires_at = AwareDateTimeField(required=False, allow_null=True)


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
    }

"""Admin endpoints for API keys: parse, call a service, format."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apikeys import services
from apikeys.models import ApiKey
from apikeys.serializers import (
    ApiKeyListQuery,
    ApiKeyListResponse,
    ApiKeyResponse,
    ApiKeyWithSecretResponse,
    CreateApiKeyRequest,
    UpdateApiKeyRequest,
    api_key_to_dict,
)
from consentvault.errors import NotFound
from consentvault.views import ApiViewSet


def _get_key(key_id: str) -> ApiKey:
    try:
        api_key = ApiKey.objects.filter(pk=key_id).first()
    except DjangoValidationError:  # not a UUID
        api_key = None
    if api_key is None:
        raise NotFound(f"No API key has the id '{key_id}'.", code="unknown_api_key")
    return api_key


class ApiKeyAdminViewSet(ApiViewSet):
    """API keys: create, inspect, change and revoke (admin scope). Secrets are shown once."""

    lookup_field = "id"
    lookup_value_regex = "[^/]+"
    required_scopes = {
        "list": "admin",
        "create": "admin",
        "retrieve": "admin",
        "update": "admin",
        "partial_update": "admin",
    }

    @extend_schema(
        parameters=[ApiKeyListQuery], responses=ApiKeyListResponse, operation_id="admin_api_keys_list", summary="List API keys"
    )
    def list(self, request):
        query = ApiKeyListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        keys = ApiKey.objects.all()
        if "active" in query.validated_data:
            keys = keys.filter(active=query.validated_data["active"] == "true")
        if query.validated_data.get("name"):
            keys = keys.filter(name__icontains=query.validated_data["name"])
        return Response({"results": [api_key_to_dict(key) for key in keys]})

    @extend_schema(
        request=CreateApiKeyRequest,
        responses={201: ApiKeyWithSecretResponse},
        summary="Create an API key; the secret is in this response only",
    )
    def create(self, request):
        serializer = CreateApiKeyRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.create_api_key(**serializer.validated_data)
        return Response({**api_key_to_dict(issued.api_key), "secret": issued.secret}, status=201)

    @extend_schema(responses=ApiKeyResponse, summary="Show an API key (never its secret)")
    def retrieve(self, request, id=None):
        return Response(api_key_to_dict(_get_key(id)))

    @extend_schema(
        request=UpdateApiKeyRequest,
        responses=ApiKeyResponse,
        summary="Change an API key; {\"active\": false} revokes it at once",
        description="PUT and PATCH both change only the fields sent.",
    )
    def update(self, request, id=None):
        api_key = _get_key(id)
        serializer = UpdateApiKeyRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key = services.update_api_key(api_key=api_key, changes=serializer.validated_data)
        return Response(api_key_to_dict(api_key))

    @extend_schema(
        request=UpdateApiKeyRequest,
        responses=ApiKeyResponse,
        summary="Change an API key; {\"active\": false} revokes it at once",
    )
    def partial_update(self, request, id=None):
        return self.update(request, id=id)

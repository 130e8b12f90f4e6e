"""Admin endpoints for API keys: parse, call a service, format."""
import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from apikeys import services
from apikeys.models import ApiKey
from apikeys.serializers import (
    ApiKeyListQuery,
    ApiKeyListResponse,
    ApiKeyResponse,
    ApiKeyWithSecretResponse,
    CreateApiKeyRequest,
    RevokeApiKeyQuery,
    RotateApiKeyRequest,
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
        "destroy": "admin",
        "rotate": "admin",
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
        responses={201: ApiKeyWithSecretResponse, 422: OpenApiResponse(description="expires_at is in the past.")},
        summary="Create an API key; the secret is in this response only",
    )
    def create(self, request):
        serializer = CreateApiKeyRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.create_api_key(actor=_actor(request), **serializer.validated_data)
        return Response({**api_key_to_dict(issued.api_key), "secret": issued.secret}, status=201)

    @extend_schema(responses=ApiKeyResponse, summary="Show an API key (never its secret)")
    def retrieve(self, request, id=None):
        return Response(api_key_to_dict(_get_key(id)))

    @extend_schema(
        request=UpdateApiKeyRequest,
        responses={200: ApiKeyResponse, 422: OpenApiResponse(description="expires_at is in the past.")},
        summary="Change an API key; {\"active\": false} revokes it at once",
        description="PUT and PATCH both change only the fields sent.",
    )
    def update(self, request, id=None):
        api_key = _get_key(id)
        serializer = UpdateApiKeyRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key = services.update_api_key(api_key=api_key, changes=serializer.validated_data, actor=_actor(request))
        return Response(api_key_to_dict(api_key))

    @extend_schema(
        request=UpdateApiKeyRequest,
        responses={200: ApiKeyResponse, 422: OpenApiResponse(description="expires_at is in the past.")},
        summary="Change an API key; {\"active\": false} revokes it at once",
    )
    def partial_update(self, request, id=None):
        return self.update(request, id=id)


    @extend_schema(
        parameters=[RevokeApiKeyQuery],
        responses={200: ApiKeyResponse},
        summary="Revoke an API key; the row is kept for the audit trail",
    )
    def destroy(self, request, id=None):
        api_key = _get_key(id)
        query = RevokeApiKeyQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        api_key = services.revoke_api_key(
            api_key=api_key, actor=_actor(request), reason=query.validated_data.get("reason", "")
        )
        return Response(api_key_to_dict(api_key))

    @extend_schema(
        request=RotateApiKeyRequest,
        responses=ApiKeyWithSecretResponse,
        summary="Issue a new secret; the old one works for grace_seconds more",
    )
    @action(detail=True, methods=["post"], url_path="rotate")
    def rotate(self, request, id=None):
        api_key = _get_key(id)
        serializer = RotateApiKeyRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        grace = datetime.timedelta(seconds=serializer.validated_data["grace_seconds"])
        issued = services.rotate_api_key(api_key=api_key, actor=_actor(request), grace=grace)
        return Response({**api_key_to_dict(issued.api_key), "secret": issued.secret})


def _actor(request) -> str:
    return f"api-key:{request.auth.pk}"

"""HTTP endpoints of the consent API: parse, call a service or selector, format."""
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from consentvault.errors import InvalidInput
from consentvault.views import ApiViewSet
from consents import selectors, services
from consents.models import Purpose
from consents.serializers import (
    BulkCheckRequest,
    BulkCheckResponse,
    CreatePurposeRequest,
    PublishVersionRequest,
    PurposeListResponse,
    PurposeResponse,
    PurposeVersionListResponse,
    PurposeVersionResponse,
    RecordConsentRequest,
    RecordConsentResponse,
    UpdatePurposeRequest,
    event_to_dict,
    purpose_to_dict,
    state_to_dict,
    version_to_dict,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    pattern=r"^[!-~]{1,255}$",
    description=(
        "Any unique string of 1 to 255 visible ASCII characters. A retry with the same key and body "
        "returns the first response without writing again, for at least 24 hours."
    ),
)


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not all("!" <= char <= "~" for char in key):
        raise InvalidInput(
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters, such as a UUID.",
            field="Idempotency-Key",
        )
    return key


class PurposeViewSet(ApiViewSet):
    """Purposes and the notice texts people were shown."""

    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    required_scopes = {"list": "read", "retrieve": "read", "versions": "read", "version_detail": "read"}

    @extend_schema(responses=PurposeListResponse, operation_id="purposes_list", summary="List purposes with their current notice text")
    def list(self, request):
        purposes = list(Purpose.objects.all())
        versions = selectors.current_versions(purposes)
        return Response({"results": [purpose_to_dict(p, versions.get(p.pk)) for p in purposes]})

    @extend_schema(responses=PurposeResponse, operation_id="purposes_retrieve", summary="Show a purpose with its current notice text")
    def retrieve(self, request, slug=None):
        purpose = selectors.get_purpose(slug=slug)
        versions = selectors.current_versions([purpose])
        return Response(purpose_to_dict(purpose, versions.get(purpose.pk)))

    @extend_schema(responses=PurposeVersionListResponse, operation_id="purposes_versions_list", summary="List every published version of a purpose")
    @action(detail=True, methods=["get"], url_path="versions")
    def versions(self, request, slug=None):
        purpose = selectors.get_purpose(slug=slug)
        return Response({"results": [version_to_dict(v) for v in purpose.versions.order_by("number")]})

    @extend_schema(responses=PurposeVersionResponse, operation_id="purposes_version_retrieve", summary="Show one version's notice text and its SHA-256")
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,9})")
    def version_detail(self, request, slug=None, number=None):
        return Response(version_to_dict(selectors.purpose_version(slug=slug, number=int(number))))


class ConsentViewSet(ApiViewSet):
    """Recording consent events and checking many subjects at once."""

    required_scopes = {"create": "write", "check": "read"}

    @extend_schema(
        request=RecordConsentRequest,
        responses={
            201: RecordConsentResponse,
            409: OpenApiResponse(description="The subject was erased without releasing its id."),
            422: OpenApiResponse(description="Unknown version, occurred_at in the future, or Idempotency-Key reused."),
        },
        parameters=[IDEMPOTENCY_HEADER],
        summary="Record a grant or withdrawal",
    )
    def create(self, request):
        idempotency_key = _idempotency_key(request)
        serializer = RecordConsentRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        result = services.record_consent_once(
            api_key=request.auth,
            idempotency_key=idempotency_key,
            payload=request.data,
            render=lambda recorded: {
                "event": event_to_dict(
                    recorded.event,
                    subject_id=data["subject_id"],
                    purpose_slug=data["purpose"],
                    has_evidence=data.get("evidence") is not None,
                ),
                "state": state_to_dict(recorded.state),
            },
            subject_id=data["subject_id"],
            purpose_slug=data["purpose"],
            action=data["action"],
            version=data.get("version"),
            occurred_at=data.get("occurred_at"),
            source=data.get("source", "api"),
            evidence=data.get("evidence"),
        )
        headers = {"Idempotent-Replayed": "true"} if result.replayed else None
        return Response(result.body, status=result.status, headers=headers)

    @extend_schema(
        request=BulkCheckRequest,
        responses={200: BulkCheckResponse},
        summary="Check one purpose for up to 10,000 subjects",
    )
    @action(detail=False, methods=["post"], url_path="check")
    def check(self, request):
        serializer = BulkCheckRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        states = selectors.bulk_consent_status(
            purpose_slug=serializer.validated_data["purpose"],
            subject_ids=serializer.validated_data["subject_ids"],
        )
        return Response(
            {"purpose": serializer.validated_data["purpose"], "results": [state_to_dict(s) for s in states]}
        )

    # The check body may list 10,000 ids; see CONSENTVAULT_MAX_CHECK_BODY_BYTES.
    @property
    def max_body_bytes(self):
        if self.action == "check":
            return settings.CONSENTVAULT_MAX_CHECK_BODY_BYTES
        return None


class AdminPurposeViewSet(ApiViewSet):
    """Creating purposes and publishing new versions of their notice text (admin scope)."""

    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    required_scopes = {"create": "admin", "partial_update": "admin", "versions": "admin"}

    @extend_schema(
        request=CreatePurposeRequest,
        responses={201: PurposeResponse, 409: OpenApiResponse(description="The slug is taken.")},
        summary="Create a purpose",
    )
    def create(self, request):
        serializer = CreatePurposeRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        purpose = services.create_purpose(**serializer.validated_data)
        versions = selectors.current_versions([purpose])
        return Response(purpose_to_dict(purpose, versions.get(purpose.pk)), status=201)

    @extend_schema(request=UpdatePurposeRequest, responses=PurposeResponse, summary="Change a purpose's details")
    def partial_update(self, request, slug=None):
        serializer = UpdatePurposeRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        purpose = services.update_purpose(slug=slug, changes=serializer.validated_data)
        versions = selectors.current_versions([purpose])
        return Response(purpose_to_dict(purpose, versions.get(purpose.pk)))

    @extend_schema(
        request=PublishVersionRequest,
        responses={201: PurposeVersionResponse},
        summary="Publish a new version of a purpose's notice text",
    )
    @action(detail=True, methods=["post"], url_path="versions")
    def versions(self, request, slug=None):
        serializer = PublishVersionRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.publish_purpose_version(slug=slug, **serializer.validated_data)
        return Response(version_to_dict(version), status=201)

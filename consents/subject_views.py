"""HTTP endpoints of subjects: identifiers, consent states, the ledger, export and erasure."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from consentvault.errors import InvalidInput
from consentvault.views import ApiViewSet
from consents import selectors, subject_selectors, subject_services
from consents.serializers import (
    ConsentStateResponse,
    CreateSubjectRequest,
    EraseQuery,
    ErasureResponse,
    EventPageResponse,
    ExportResponse,
    HistoryQuery,
    LookupSubjectRequest,
    SubjectConsentsResponse,
    SubjectResponse,
    UpdateSubjectRequest,
    event_to_dict,
    export_to_dict,
    state_to_dict,
    subject_to_dict,
    validate_subject_id,
)
from consentvault.serializers import format_timestamp

PII_SCOPE = "pii"


def _subject_id_from_path(value: str) -> str:
    try:
        return validate_subject_id(value)
    except serializers.ValidationError as exc:
        raise InvalidInput(str(exc.detail[0]), field="subject_id")


def _may_read_pii(request) -> bool:
    return request.auth.has_scope(PII_SCOPE)


class SubjectViewSet(ApiViewSet):
    """Subjects: identifiers (email, phone), consent states, the ledger, export and erasure.

    Identifiers and evidence are returned decrypted only to keys with the pii scope.
    """

    lookup_field = "subject_id"
    lookup_value_regex = "[^/]+"
    required_scopes = {
        "create": "write",
        "partial_update": "write",
        "retrieve": "read",
        "lookup": "read",
        "export": "pii",
        "destroy": "admin",
        "consents": "read",
        "consent_detail": "read",
        "events": "read",
    }

    @extend_schema(
        request=CreateSubjectRequest,
        responses={200: SubjectResponse, 201: SubjectResponse, 409: OpenApiResponse(description="Identifier in use.")},
        summary="Create a subject or set its identifiers",
    )
    def create(self, request):
        serializer = CreateSubjectRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subject_id = data["subject_id"]
        _subject, created = subject_services.set_identifiers(
            subject_id=subject_id,
            email=data.get("email", subject_services.UNCHANGED),
            phone=data.get("phone", subject_services.UNCHANGED),
            create=True,
        )
        view = subject_selectors.subject_detail(subject_id=subject_id, include_identifiers=_may_read_pii(request))
        return Response(subject_to_dict(view), status=201 if created else 200)

    @extend_schema(
        request=UpdateSubjectRequest,
        responses={200: SubjectResponse, 409: OpenApiResponse(description="Identifier in use, or subject erased.")},
        summary="Change or remove a subject's identifiers",
    )
    def partial_update(self, request, subject_id=None):
        subject_id = _subject_id_from_path(subject_id)
        serializer = UpdateSubjectRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        subject_services.set_identifiers(
            subject_id=subject_id,
            email=serializer.validated_data.get("email", subject_services.UNCHANGED),
            phone=serializer.validated_data.get("phone", subject_services.UNCHANGED),
            create=False,
        )
        view = subject_selectors.subject_detail(subject_id=subject_id, include_identifiers=_may_read_pii(request))
        return Response(subject_to_dict(view))

    @extend_schema(
        responses={200: SubjectResponse, 410: OpenApiResponse(description="The subject was erased.")},
        summary="Show a subject; identifiers only with the pii scope",
    )
    def retrieve(self, request, subject_id=None):
        subject_id = _subject_id_from_path(subject_id)
        view = subject_selectors.subject_detail(subject_id=subject_id, include_identifiers=_may_read_pii(request))
        return Response(subject_to_dict(view))

    @extend_schema(
        request=LookupSubjectRequest,
        responses=SubjectResponse,
        summary="Find a subject by email or phone (sent in the body, never the URL)",
    )
    @action(detail=False, methods=["post"], url_path="lookup")
    def lookup(self, request):
        serializer = LookupSubjectRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        ((kind, value),) = serializer.validated_data.items()
        view = subject_selectors.lookup_subject(
            kind=kind, normalized_value=value, include_identifiers=_may_read_pii(request)
        )
        return Response(subject_to_dict(view))

    @extend_schema(
        responses={200: ExportResponse, 410: OpenApiResponse(description="The subject was erased.")},
        summary="Export everything held about a subject (pii scope)",
    )
    @action(detail=True, methods=["get"], url_path="export")
    def export(self, request, subject_id=None):
        subject_id = _subject_id_from_path(subject_id)
        export = subject_selectors.export_subject(subject_id=subject_id)
        return Response(export_to_dict(export, subject_id=subject_id))

    @extend_schema(
        parameters=[EraseQuery],
        responses={200: ErasureResponse},
        summary="Erase a subject by destroying its data key (admin scope)",
    )
    def destroy(self, request, subject_id=None):
        subject_id = _subject_id_from_path(subject_id)
        query = EraseQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        erasure = subject_services.erase_subject(
            subject_id=subject_id,
            release_subject_id=query.validated_data.get("release_subject_id") == "true",
            api_key=request.auth,
        )
        return Response(
            {
                "reference": erasure.reference,
                "subject_id_released": erasure.subject_id_released,
                "erased_at": format_timestamp(erasure.erased_at),
            }
        )

    @extend_schema(
        responses=SubjectConsentsResponse,
        operation_id="subjects_consents_list",
        summary="Show a subject's status for every purpose",
    )
    @action(detail=True, methods=["get"], url_path="consents")
    def consents(self, request, subject_id=None):
        subject_id = _subject_id_from_path(subject_id)
        states = selectors.subject_consents(subject_id=subject_id)
        return Response({"subject_id": subject_id, "results": [state_to_dict(s) for s in states]})

    @extend_schema(
        responses=ConsentStateResponse,
        operation_id="subjects_consent_retrieve",
        summary="Check one subject's consent to one purpose",
    )
    @action(detail=True, methods=["get"], url_path=r"consents/(?P<purpose>[^/]+)")
    def consent_detail(self, request, subject_id=None, purpose=None):
        subject_id = _subject_id_from_path(subject_id)
        return Response(state_to_dict(selectors.consent_status(subject_id=subject_id, purpose_slug=purpose)))

    @extend_schema(
        parameters=[HistoryQuery],
        responses=EventPageResponse,
        summary="List a subject's ledger events, newest first; evidence only with the pii scope",
    )
    @action(detail=True, methods=["get"], url_path="events")
    def events(self, request, subject_id=None):
        subject_id = _subject_id_from_path(subject_id)
        query = HistoryQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        page, next_cursor = selectors.subject_history(
            subject_id=subject_id, cursor=query.validated_data.get("cursor"), limit=query.validated_data["limit"]
        )
        evidence = {}
        if _may_read_pii(request):
            evidence = subject_selectors.events_evidence(subject_id=subject_id, events=page)
        next_url = None
        if next_cursor:
            next_url = request.build_absolute_uri(
                f"{request.path}?cursor={next_cursor}&limit={query.validated_data['limit']}"
            )
        results = [
            event_to_dict(
                event,
                subject_id=subject_id,
                purpose_slug=event.purpose.slug,
                has_evidence=subject_selectors.has_evidence(event),
                evidence=evidence.get(event.pk),
            )
            for event in page
        ]
        return Response({"results": results, "next": next_url})

"""Request parsing and response shapes of the consent API."""
import json
import re

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consentvault.serializers import (
    AwareDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
    format_timestamp,
)
from consents.identifiers import InvalidIdentifier, normalize_email, normalize_phone
from consents.models import Action, ConsentStatus, LegalBasis

SUBJECT_ID_MAX_LENGTH = 255
MAX_BULK_SUBJECT_IDS = 10_000
MAX_EVIDENCE_BYTES = 16 * 1024
MAX_EVIDENCE_DEPTH = 8
MAX_VERSION = 2_000_000_000  # below PostgreSQL's integer maximum
MAX_VALIDITY_DAYS = 36_500  # a hundred years

CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,18}$"
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
slug_validator = RegexValidator(
    SLUG_PATTERN, "Must be lowercase letters and digits separated by single hyphens, such as 'marketing-email'."
)
source_validator = RegexValidator(
    r"^[a-z][a-z0-9_-]*$",
    "Must start with a lowercase letter and contain only lowercase letters, digits, '-' and '_', such as 'web'.",
)


# Characters a subject id may not contain: '/', C0 and C1 control characters
# (tabs and line breaks included), the Unicode line and paragraph separators,
# and lone surrogates. Everything else, emoji sequences included, is allowed.
SUBJECT_ID_PATTERN = r"^[^/\x00-\x1f\x7f-\x9f\u2028\u2029]+$"
_SUBJECT_ID_RE = re.compile(r"[^/\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
SUBJECT_ID_RULE = "1 to 255 characters, without '/', control characters or line separators"


def validate_subject_id(value: str) -> str:
    """Check a caller's subject id against SUBJECT_ID_RULE; return it unchanged."""
    if not value:
        raise serializers.ValidationError("Must not be empty.", code="blank")
    if len(value) > SUBJECT_ID_MAX_LENGTH:
        raise serializers.ValidationError(
            f"Must have at most {SUBJECT_ID_MAX_LENGTH} characters (got {len(value)}).", code="max_length"
        )
    if not _SUBJECT_ID_RE.fullmatch(value):
        raise serializers.ValidationError(
            "Must not contain '/', control characters (such as tabs or line breaks) or line separators.",
            code="invalid",
        )
    return value


class SubjectIdField(StrictCharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", SUBJECT_ID_MAX_LENGTH)
        kwargs.setdefault("help_text", f"The caller's own opaque identifier: {SUBJECT_ID_RULE}.")
        # Documents the rule in the OpenAPI schema; validate_subject_id enforces it.
        kwargs.setdefault("validators", [RegexValidator(SUBJECT_ID_PATTERN)])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return validate_subject_id(super().to_internal_value(data))


def _evidence_depth(value, depth: int = 1) -> int:
    if isinstance(value, dict):
        return max([_evidence_depth(item, depth + 1) for item in value.values()], default=depth)
    if isinstance(value, list):
        return max([_evidence_depth(item, depth + 1) for item in value], default=depth)
    return depth


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "additionalProperties": True,
        "description": (
            "How consent was collected (form, page, ip_address, user_agent, …): a JSON object of at most "
            "16 KiB as ASCII-escaped JSON, nested at most 8 levels deep."
        ),
        "example": {"form": "signup", "page": "https://example.com/join"},
    }
)
class EvidenceField(serializers.JSONField):
    """Evidence of how consent was collected: any JSON object of at most 16 KiB."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object, such as {\"form\": \"signup\"}.")
        if _evidence_depth(data) > MAX_EVIDENCE_DEPTH:
            raise serializers.ValidationError(f"Must not be nested more than {MAX_EVIDENCE_DEPTH} levels deep.")
        size = len(json.dumps(data, ensure_ascii=True))
        if size > MAX_EVIDENCE_BYTES:
            raise serializers.ValidationError(
                f"Must be at most {MAX_EVIDENCE_BYTES} bytes as JSON (got {size}).", code="max_length"
            )
        return data


# --- Requests ------------------------------------------------------------------------


class RecordConsentRequest(StrictSerializer):
    subject_id = SubjectIdField()
    purpose = StrictCharField(max_length=64, validators=[slug_validator])
    action = StrictChoiceField(choices=Action.choices)
    version = StrictIntegerField(
        required=False, min_value=1, max_value=MAX_VERSION, help_text="Defaults to the purpose's current version."
    )
    occurred_at = AwareDateTimeField(
        required=False,
        help_text="When the person acted, with a UTC offset. Defaults to now; at most 5 minutes in the future.",
    )
    source = StrictCharField(
        required=False, max_length=32, validators=[source_validator], help_text="web, app, email, phone, import, …"
    )
    evidence = EvidenceField(required=False, allow_null=True)


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_BULK_SUBJECT_IDS,
        "items": {
            "type": "string",
            "minLength": 1,
            "maxLength": SUBJECT_ID_MAX_LENGTH,
            "pattern": SUBJECT_ID_PATTERN,
        },
    }
)
class SubjectIdListField(serializers.ListField):
    """A list of subject ids, validated in one loop.

    Running a child field per item costs more than the query for 10,000 ids;
    the errors keep DRF's layout (``{index: [message]}``).
    """

    def __init__(self, **kwargs):
        super().__init__(child=SubjectIdField(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data and not self.allow_empty:
            self.fail("empty")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        errors = {}
        for index, value in enumerate(data):
            if not isinstance(value, str):
                errors[index] = ["Must be a string."]
                continue
            try:
                validate_subject_id(value)
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return data


class BulkCheckRequest(StrictSerializer):
    purpose = StrictCharField(max_length=64, validators=[slug_validator])
    subject_ids = SubjectIdListField(min_length=1, max_length=MAX_BULK_SUBJECT_IDS, allow_empty=False)


class CreatePurposeRequest(StrictSerializer):
    slug = StrictCharField(max_length=64, validators=[slug_validator])
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")
    legal_basis = StrictChoiceField(choices=LegalBasis.choices, required=False, default=LegalBasis.CONSENT)
    validity_days = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_VALIDITY_DAYS, default=None
    )
    text = StrictCharField(max_length=100_000, trim_whitespace=False, help_text="Notice text of version 1.")


class UpdatePurposeRequest(StrictSerializer):
    title = StrictCharField(max_length=200, required=False)
    description = StrictCharField(max_length=5000, required=False, allow_blank=True)
    legal_basis = StrictChoiceField(choices=LegalBasis.choices, required=False)
    validity_days = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_VALIDITY_DAYS)


class PublishVersionRequest(StrictSerializer):
    text = StrictCharField(max_length=100_000, trim_whitespace=False)
    material_change = StrictBooleanField(
        help_text="True when earlier grants no longer cover this text: they then report reconsent_required."
    )


class HistoryQuery(StrictSerializer):
    cursor = StrictCharField(
        required=False,
        max_length=40,
        validators=[RegexValidator(CURSOR_PATTERN, "Must be the cursor of a 'next' link, such as 1767225600000000.42.")],
        help_text="Position after which the page starts; copy it from the previous page's next link.",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)


# --- Responses -----------------------------------------------------------------------
# These serializers document the response shapes in the OpenAPI schema. The
# views build the same shapes as dicts (see the functions below), because
# serializing 10,000 bulk-check results through DRF fields is slow.


class PurposeVersionResponse(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField()
    text_sha256 = serializers.CharField(help_text="SHA-256 of the UTF-8 text, hex-encoded.")
    material_change = serializers.BooleanField()
    published_at = AwareDateTimeField()


class PurposeResponse(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    validity_days = serializers.IntegerField(allow_null=True)
    minimum_valid_version = serializers.IntegerField(
        help_text="Grants to versions below this one report reconsent_required."
    )
    current_version = PurposeVersionResponse()
    created_at = AwareDateTimeField()
    updated_at = AwareDateTimeField()


class PurposeListResponse(serializers.Serializer):
    results = PurposeResponse(many=True)


class PurposeVersionListResponse(serializers.Serializer):
    results = PurposeVersionResponse(many=True)


class ConsentStateResponse(serializers.Serializer):
    subject_id = serializers.CharField()
    purpose = serializers.CharField()
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    granted = serializers.BooleanField(help_text="True only when status is granted.")
    version = serializers.IntegerField(allow_null=True)
    occurred_at = AwareDateTimeField(allow_null=True)
    expires_at = AwareDateTimeField(allow_null=True)


class SubjectConsentsResponse(serializers.Serializer):
    subject_id = serializers.CharField()
    results = ConsentStateResponse(many=True)


class BulkCheckResponse(serializers.Serializer):
    purpose = serializers.CharField()
    results = ConsentStateResponse(many=True)


class EmailField(StrictCharField):
    """An email address, returned in its normalised lookup form."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 320)
        kwargs.setdefault("help_text", "Normalised before storage and lookup: trimmed, Unicode NFC, case-folded.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return normalize_email(super().to_internal_value(data))
        except InvalidIdentifier as exc:
            raise serializers.ValidationError(str(exc), code="invalid")


class PhoneField(StrictCharField):
    """A phone number with its country code, returned in E.164 form."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("help_text", "With the country code, such as +44 20 7946 0958; stored as E.164.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return normalize_phone(super().to_internal_value(data))
        except InvalidIdentifier as exc:
            raise serializers.ValidationError(str(exc), code="invalid")


class CreateSubjectRequest(StrictSerializer):
    subject_id = SubjectIdField()
    email = EmailField(required=False, allow_null=True)
    phone = PhoneField(required=False, allow_null=True)


class UpdateSubjectRequest(StrictSerializer):
    email = EmailField(required=False, allow_null=True, help_text="null removes the email address.")
    phone = PhoneField(required=False, allow_null=True, help_text="null removes the phone number.")


class LookupSubjectRequest(StrictSerializer):
    """Exactly one of email or phone."""

    email = EmailField(required=False)
    phone = PhoneField(required=False)

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Send exactly one of email or phone.", code="one_identifier")
        return attrs


class EraseQuery(StrictSerializer):
    release_subject_id = StrictChoiceField(
        choices=[("true", "true"), ("false", "false")],
        required=False,
        help_text="true frees the subject_id for a new subject; the ledger stays under the erasure's reference.",
    )


class SubjectResponse(serializers.Serializer):
    subject_id = serializers.CharField()
    email = serializers.CharField(
        required=False, allow_null=True, help_text="Present only for keys with the pii scope."
    )
    phone = serializers.CharField(
        required=False, allow_null=True, help_text="Present only for keys with the pii scope."
    )
    has_email = serializers.BooleanField()
    has_phone = serializers.BooleanField()
    created_at = AwareDateTimeField()
    updated_at = AwareDateTimeField()


class ErasureResponse(serializers.Serializer):
    reference = serializers.CharField(help_text="Pseudonymous id under which the ledger stays readable.")
    subject_id_released = serializers.BooleanField()
    erased_at = AwareDateTimeField()


class ConsentEventResponse(serializers.Serializer):
    event_id = serializers.UUIDField()
    subject_id = serializers.CharField()
    purpose = serializers.CharField()
    version = serializers.IntegerField()
    action = serializers.ChoiceField(choices=Action.choices)
    occurred_at = AwareDateTimeField()
    recorded_at = AwareDateTimeField()
    source = serializers.CharField()
    has_evidence = serializers.BooleanField()
    evidence = serializers.JSONField(
        allow_null=True, help_text="The decrypted evidence, for keys with the pii scope on reads; otherwise null."
    )
    api_key_id = serializers.UUIDField(allow_null=True, help_text="The API key that recorded the event.")


class RecordConsentResponse(serializers.Serializer):
    event = ConsentEventResponse()
    state = ConsentStateResponse()


class NoticeResponse(PurposeVersionResponse):
    purpose = serializers.CharField()


class ExportResponse(serializers.Serializer):
    subject = SubjectResponse()
    consents = ConsentStateResponse(many=True)
    events = ConsentEventResponse(many=True)
    notices = NoticeResponse(many=True, help_text="Every notice version the subject acted on.")


class EventPageResponse(serializers.Serializer):
    results = ConsentEventResponse(many=True)
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, or null on the last page.")


# --- Representations ---------------------------------------------------------------------


def state_to_dict(state) -> dict:
    return {
        "subject_id": state.subject_id,
        "purpose": state.purpose,
        "status": str(state.status),
        "granted": state.granted,
        "version": state.version,
        "occurred_at": format_timestamp(state.occurred_at),
        "expires_at": format_timestamp(state.expires_at),
    }


def event_to_dict(event, *, subject_id: str, purpose_slug: str, has_evidence: bool, evidence=None) -> dict:
    return {
        "event_id": str(event.event_id),
        "subject_id": subject_id,
        "purpose": purpose_slug,
        "version": event.version,
        "action": event.action,
        "occurred_at": format_timestamp(event.occurred_at),
        "recorded_at": format_timestamp(event.recorded_at),
        "source": event.source,
        "has_evidence": has_evidence,
        "evidence": evidence,
        "api_key_id": str(event.api_key_id) if event.api_key_id else None,
    }


def subject_to_dict(view) -> dict:
    subject = view.subject
    body = {"subject_id": subject.subject_id}
    if view.identifiers_included:
        body["email"] = view.email
        body["phone"] = view.phone
    body.update(
        has_email=subject.email_encrypted is not None,
        has_phone=subject.phone_encrypted is not None,
        created_at=format_timestamp(subject.created_at),
        updated_at=format_timestamp(subject.updated_at),
    )
    return body


def version_to_dict(version) -> dict:
    return {
        "number": version.number,
        "text": version.text,
        "text_sha256": version.text_sha256,
        "material_change": version.material_change,
        "published_at": format_timestamp(version.published_at),
    }


def purpose_to_dict(purpose, current_version) -> dict:
    return {
        "slug": purpose.slug,
        "title": purpose.title,
        "description": purpose.description,
        "legal_basis": purpose.legal_basis,
        "validity_days": purpose.validity_days,
        "minimum_valid_version": purpose.minimum_valid_version,
        "current_version": version_to_dict(current_version) if current_version else None,
        "created_at": format_timestamp(purpose.created_at),
        "updated_at": format_timestamp(purpose.updated_at),
    }



def export_to_dict(export, *, subject_id: str) -> dict:
    """Return the export document of a subject (``subject_selectors.SubjectExport``)."""
    return {
        "subject": subject_to_dict(export.view),
        "consents": [state_to_dict(state) for state in export.consents],
        "events": [
            event_to_dict(
                event,
                subject_id=subject_id,
                purpose_slug=event.purpose.slug,
                has_evidence=event.pk in export.evidence,
                evidence=export.evidence.get(event.pk),
            )
            for event in export.events
        ],
        "notices": [{"purpose": version.purpose.slug, **version_to_dict(version)} for version in export.versions],
    }

"""Strict serializer building blocks shared by every app.

DRF coerces by default (``1`` becomes ``"1"``, ``"true"`` becomes ``True``)
and ignores unknown keys. A consent record is evidence, so the API accepts
only what the schema describes, and names the field when a value does not fit.
"""
import datetime

from django.core.validators import RegexValidator
from rest_framework import serializers


def contains_lone_surrogate(value: str) -> bool:
    """Return whether ``value`` cannot be encoded as UTF-8 (JSON allows "\\ud800")."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class StrictCharField(serializers.CharField):
    """A CharField that accepts JSON strings only, each valid Unicode.

    A field that may not be blank also gets ``min_length=1``, so that the OpenAPI
    schema documents it. Whitespace is kept, not trimmed.
    """

    default_error_messages = {
        "not_a_string": "Must be a string, not {input_type}.",
        "invalid_unicode": "Must be valid Unicode text; lone surrogates are not allowed.",
    }

    def __init__(self, **kwargs):
        if not kwargs.get("allow_blank", False) and kwargs.get("min_length") is None:
            kwargs["min_length"] = 1
        # Stored as sent: what the schema accepts is what the field accepts.
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        if not any(isinstance(validator, RegexValidator) for validator in self.validators):
            # Documents in the OpenAPI schema that NUL is rejected (DRF's own
            # ProhibitNullCharactersValidator enforces it).
            self.validators.append(RegexValidator(r"^[^\x00]+$", "Null characters are not allowed."))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string", input_type=_json_type_name(data))
        if contains_lone_surrogate(data):
            self.fail("invalid_unicode")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    default_error_messages = {"not_a_string": "Must be a string, not {input_type}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string", input_type=_json_type_name(data))
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"not_a_boolean": "Must be true or false, not {input_type}."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_a_boolean", input_type=_json_type_name(data))
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"not_an_integer": "Must be an integer, not {input_type}."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_an_integer", input_type=_json_type_name(data))
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO-8601 timestamp that must carry a UTC offset; returned in UTC with ``Z``."""

    default_error_messages = {
        "not_a_string": "Must be an ISO-8601 string, not {input_type}.",
        "invalid_format": "Must be an ISO-8601 timestamp such as 2026-01-31T09:30:00Z.",
        "naive": "Must include a UTC offset (Z or +hh:mm); a timestamp without one is ambiguous.",
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("not_a_string", input_type=_json_type_name(value))
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            self.fail("invalid_format")
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail("naive")
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            self.fail("invalid_format")

    def to_representation(self, value):
        return format_timestamp(value)


def format_timestamp(value: datetime.datetime | None) -> str | None:
    """Format an aware datetime as UTC ISO-8601 with a ``Z`` suffix."""
    if value is None:
        return None
    if value.tzinfo is not datetime.UTC:
        value = value.astimezone(datetime.UTC)
    return value.isoformat().replace("+00:00", "Z")


class StrictSerializer(serializers.Serializer):
    """A serializer that rejects keys it does not declare."""

    default_error_messages = {"unknown_field": "Unknown field; remove it or check its spelling."}

    def to_internal_value(self, data):
        unknown_errors = {}
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown_errors = {
                key: [serializers.ErrorDetail(self.error_messages["unknown_field"], code="unknown_field")]
                for key in data
                if key not in writable
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown_errors and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown_errors})
            raise
        if unknown_errors:
            raise serializers.ValidationError(unknown_errors)
        return value


def _json_type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__

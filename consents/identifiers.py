"""Normalisation of personal identifiers, so one person's address is stored and found once."""
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

_email_validator = EmailValidator()


class InvalidIdentifier(ValueError):
    """An identifier that cannot be normalised; the message describes the problem without repeating the value."""


def normalize_email(value: str) -> str:
    """Return the lookup form of an email address: trimmed, NFC, case-folded.

    Case-folding the local part too is a deliberate choice: almost every mail
    provider treats it case-insensitively, and two spellings of one address
    must never become two subjects.
    """
    normalized = unicodedata.normalize("NFC", value.strip()).casefold()
    try:
        _email_validator(normalized)
    except ValidationError:
        raise InvalidIdentifier("Must be a valid email address, such as name@example.com.") from None
    return normalized


def normalize_phone(value: str) -> str:
    """Return a phone number in E.164 form (+442079460958); the country code is required."""
    text = value.strip()
    if not text.startswith("+"):
        raise InvalidIdentifier("Must start with + and the country code, such as +44 20 7946 0958.")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("Must be a phone number with its country code, such as +44 20 7946 0958.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("Is not a valid phone number for its country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

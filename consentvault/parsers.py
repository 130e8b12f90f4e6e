"""A JSON parser that rejects bodies above a size limit before decoding them."""
import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from consentvault.errors import PayloadTooLarge


class LimitedJSONParser(JSONParser):
    """Parse UTF-8 JSON bodies of at most ``CONSENTVAULT_MAX_BODY_BYTES`` bytes.

    A view may raise the limit with a ``max_body_bytes`` attribute. NaN and
    Infinity are rejected, and so is nesting too deep for Python's parser.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        view = parser_context.get("view")
        limit = getattr(view, "max_body_bytes", None) or settings.CONSENTVAULT_MAX_BODY_BYTES
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The request body is {declared} bytes; the limit is {limit} bytes.")

        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")

        try:
            text = body.decode(parser_context.get("encoding") or "utf-8")
            return json.loads(text, parse_constant=_reject_constant)
        except UnicodeDecodeError as exc:
            raise ParseError(f"The request body is not valid UTF-8: {exc.reason} at byte {exc.start}.")
        except ValueError as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}.")
        except RecursionError:
            raise ParseError("The request body is nested too deeply.")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON value")

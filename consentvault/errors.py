"""One error format for the whole API: RFC 9457 problem details.

Every 4xx and 5xx body looks like::

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "code": "invalid", "detail": "The request body is invalid.",
     "errors": [{"field": "subject_id", "code": "max_length",
                 "detail": "Ensure this field has no more than 255 characters."}]}

``code`` is stable and meant for programs; ``detail`` is for people. ``errors``
lists problems with single fields, using dotted paths for nested values
(``subject_ids.3``); it is empty when the problem is not about one field.
"""
import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class DomainError(Exception):
    """A rule of the service was broken; rendered as a problem document.

    Services raise subclasses; the API layer never has to translate them.
    """

    status = 400
    code = "invalid"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if code:
            self.code = code


class InvalidInput(DomainError):
    """A value is well-formed but breaks a rule (a version that does not exist)."""


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unprocessable(DomainError):
    """Well-formed input that breaks a rule of the data: a future time, a missing version, a reused key."""

    status = 422
    code = "unprocessable"


class RateLimited(exceptions.APIException):
    """Over a rate limit; ``wait`` (seconds) becomes the Retry-After header."""

    status_code = 429
    default_code = "rate_limited"
    default_detail = "Too many requests."

    def __init__(self, *, wait: int):
        super().__init__(f"Too many requests; retry in {wait} seconds.")
        self.wait = wait


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def problem_body(*, status: int, code: str, detail: str, errors: list | None = None) -> dict:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        "errors": errors or [],
    }


def _flatten_validation_errors(detail, path: str = "") -> list[dict]:
    """Turn DRF's nested ``ValidationError.detail`` into a flat field list."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            key = str(key)
            if key in ("non_field_errors", "__all__"):
                child_path = path
            else:
                child_path = f"{path}.{key}" if path else key
            items.extend(_flatten_validation_errors(value, child_path))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                items.extend(_flatten_validation_errors(value, f"{path}.{index}" if path else str(index)))
            else:
                items.extend(_flatten_validation_errors(value, path))
        return items
    return [{"field": path or None, "code": getattr(detail, "code", "invalid"), "detail": str(detail)}]


_DRF_CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def _response(status: int, code: str, detail: str, errors: list | None = None, headers=None) -> Response:
    response = Response(
        problem_body(status=status, code=code, detail=detail, errors=errors),
        status=status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    return response


def problem_exception_handler(exc, context):
    """DRF exception handler that renders every exception as a problem document.

    Unexpected exceptions are logged with their traceback and turned into a
    generic 500, so no stack trace or HTML page reaches the client.
    """
    # Imported here: rest_framework.views imports the parsers, which import this module.
    from rest_framework.views import set_rollback

    set_rollback()

    if isinstance(exc, DomainError):
        errors = []
        if exc.field:
            errors.append({"field": exc.field, "code": exc.code, "detail": exc.detail})
        return _response(exc.status, exc.code, exc.detail, errors)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_validation_errors(exc.detail)
        return _response(400, "invalid", "The request is invalid; see errors for each field.", errors)

    if isinstance(exc, exceptions.APIException):
        headers = {}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
        code = _DRF_CODES.get(type(exc))
        if code is None:
            code = exc.default_code if isinstance(exc.default_code, str) else "error"
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
        return _response(exc.status_code, code, str(detail), headers=headers)

    view = context.get("view")
    logger.error(
        "Unhandled exception in %s",
        type(view).__name__ if view else "unknown view",
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return _response(500, "internal_error", "The server failed to process the request. It has been logged.")


def _json_problem(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(
        problem_body(status=status, code=code, detail=detail),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


# Django-level handlers for errors raised outside DRF views (unknown URLs,
# rejected Host headers, failures in middleware).
def handler400(request, exception=None):
    return _json_problem(400, "bad_request", "The request could not be understood.")


def handler403(request, exception=None):
    return _json_problem(403, "permission_denied", "You do not have permission to access this resource.")


def handler404(request, exception=None):
    return _json_problem(404, "not_found", "No resource exists at this URL.")


def not_found(request, *args, **kwargs):
    return handler404(request)


def handler500(request):
    return _json_problem(500, "internal_error", "The server failed to process the request. It has been logged.")

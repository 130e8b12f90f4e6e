"""OpenAPI schema additions: the problem responses every operation shares."""
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import is_list_serializer


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, minus its guess that a ``list`` action returns a bare array.

    Every list endpoint here returns an object with ``results``, which its
    response serializer already describes.
    """

    def _is_list_view(self, serializer=None) -> bool:
        if serializer is None:
            serializer = self.get_response_serializers()
        return is_list_serializer(serializer)

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document; every 4xx and 5xx response has this shape.",
    "required": ["type", "title", "status", "code", "detail", "errors"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400},
        "code": {"type": "string", "description": "Stable, machine-readable error code.", "example": "invalid"},
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "errors": {
            "type": "array",
            "description": "Problems with single fields; empty when the problem is not about one field.",
            "items": {
                "type": "object",
                "required": ["field", "code", "detail"],
                "properties": {
                    "field": {"type": "string", "nullable": True, "example": "subject_id"},
                    "code": {"type": "string", "example": "max_length"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}

_DESCRIPTIONS = {
    "400": "The request is invalid; `errors` names each field and problem.",
    "401": "The X-Api-Key header is missing, or the key is unknown, revoked or expired.",
    "403": "The API key lacks the scope this endpoint requires.",
    "404": "The resource does not exist.",
    "405": "The method is not allowed on this endpoint.",
    "406": "The Accept header asks for a format other than JSON.",
    "409": "The request conflicts with existing data.",
    "413": "The request body is too large.",
    "415": "The request body is not application/json.",
    "422": "The request is well-formed but breaks a rule, such as a version that does not exist.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
    "500": "The server failed; the error is logged.",
}

_COMMON = ("400", "401", "403", "404", "405", "406", "429", "500")
_WITH_BODY = ("413", "415")


def add_problem_responses(result, generator, request, public):
    """Document the problem responses every operation can return, and the subject id rule."""
    from consents.serializers import SUBJECT_ID_MAX_LENGTH, SUBJECT_ID_PATTERN, SUBJECT_ID_RULE

    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request"):
            component["additionalProperties"] = False  # StrictSerializer rejects unknown keys
    schemas["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "subject_id":
                    parameter["description"] = f"The caller's own identifier of the subject: {SUBJECT_ID_RULE}."
                    parameter["schema"] = {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": SUBJECT_ID_MAX_LENGTH,
                        "pattern": SUBJECT_ID_PATTERN,
                    }
            responses = operation.setdefault("responses", {})
            codes = list(_COMMON)
            if method in ("post", "put", "patch"):
                codes += _WITH_BODY
            codes += [code for code in responses if code.startswith(("4", "5"))]
            for code in codes:
                responses[code] = {
                    "description": _DESCRIPTIONS.get(code, "Error."),
                    "content": {"application/problem+json": {"schema": reference}},
                }
    return result

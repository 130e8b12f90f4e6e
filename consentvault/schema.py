"""OpenAPI schema additions: the problem responses every operation shares."""

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
    "422": "The Idempotency-Key was used before with a different body.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
    "500": "The server failed; the error is logged.",
}

_COMMON = ("400", "401", "403", "404", "405", "406", "429", "500")
_WITH_BODY = ("413", "415")


def add_problem_responses(result, generator, request, public):
    """Document the problem responses every operation can return."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
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

"""Scope checks for API views."""
from rest_framework import permissions


class HasScope(permissions.BasePermission):
    """Allow a request when its API key has the scope the view requires.

    A view declares ``required_scopes``: a dict from viewset action (or HTTP
    method) to scope. A view that declares none is denied, so a forgotten
    declaration fails closed.
    """

    message = "The API key lacks the scope this endpoint requires."

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if api_key is None:
            return False  # DRF turns this into 401 with WWW-Authenticate
        action_map = getattr(view, "action_map", None) or {}
        method = "get" if request.method == "HEAD" else request.method.lower()
        if method not in action_map:
            return True  # the view returns 405 Method Not Allowed
        scope = required_scope(view, request)
        if scope is None:
            return False
        if not api_key.has_scope(scope):
            self.message = f"The API key lacks the '{scope}' scope this endpoint requires."
            return False
        return True


def required_scope(view, request) -> str | None:
    scopes = getattr(view, "required_scopes", {})
    action = getattr(view, "action", None)
    if action in scopes:
        return scopes[action]
    return scopes.get(request.method)

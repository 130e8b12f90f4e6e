"""The X-Api-Key authentication scheme for DRF."""
from prometheus_client import Counter
from rest_framework import authentication, exceptions

from apikeys.admission import admit
from apikeys.selectors import KeyRejected

authentication_failures = Counter(
    "consentvault_authentication_failures_total",
    "Requests whose X-Api-Key was rejected, by reason.",
    ["reason"],
)

HEADER = "X-Api-Key"
_META_KEY = "HTTP_X_API_KEY"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate a request by the secret in its ``X-Api-Key`` header.

    ``request.user`` and ``request.auth`` are both the ApiKey row. An accepted
    request is also counted against its key's rate limit here, in the Redis
    round trip that validates the cached row. ``request.key_rate_usage`` carries
    the result for the view to apply (consentvault.views.ApiViewSet).
    """

    def authenticate(self, request):
        secret = request.META.get(_META_KEY)
        if not secret:
            return None
        try:
            admission = admit(request, secret.strip())
        except KeyRejected as exc:
            authentication_failures.labels(reason=exc.reason).inc()
            raise exceptions.AuthenticationFailed(str(exc))
        api_key = admission.api_key
        request.key_rate_usage = admission.usage
        # For the access log, which reads only Django's request.
        request._request.consentvault_api_key_id = str(api_key.pk)
        return api_key, api_key

    def authenticate_header(self, request):
        return f'ApiKey header="{HEADER}"'

"""The base class of every API viewset: content-type check and rate limits."""
from rest_framework import exceptions, viewsets

from apikeys import ratelimit
from consentvault.errors import RateLimited


class ApiViewSet(viewsets.ViewSet):
    """A DRF ViewSet that applies the rate limits and rejects a body sent without a Content-Type.

    DRF would silently ignore a body without a Content-Type and report missing
    fields instead, which hides the real mistake.
    """

    rate_limit_usage: ratelimit.Usage | None = None

    def initial(self, request, *args, **kwargs):
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.META.get("CONTENT_LENGTH") or "0"
            if not request.content_type and (not length.isdigit() or int(length) > 0):
                raise exceptions.UnsupportedMediaType(
                    "", detail="The request has a body but no Content-Type; send it as application/json."
                )
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request):
        """Authenticate, then apply the rate limit: per key when one is valid, per client IP otherwise.

        The authentication class has already counted a request with a valid
        key (apikeys.admission). A request with a bad key is counted here
        before its 401, so guessing keys runs into the stricter per-IP limit.
        """
        try:
            request.user  # noqa: B018 (runs the authentication classes)
        except exceptions.AuthenticationFailed:
            self._apply_limit(ratelimit.check_anonymous(request))
            raise
        if request.auth is None:
            self._apply_limit(ratelimit.check_anonymous(request))
        else:
            self._apply_limit(getattr(request, "key_rate_usage", None))

    def _apply_limit(self, usage: ratelimit.Usage | None) -> None:
        self.rate_limit_usage = usage
        if usage is not None and usage.exceeded:
            raise RateLimited(wait=max(usage.reset_seconds, 1))

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.rate_limit_usage is not None:
            for header, value in self.rate_limit_usage.headers().items():
                response[header] = value
        return response

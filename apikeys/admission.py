"""Admitting a request with an API key: authentication and the key's rate-limit count together.

The usual request costs one Redis round trip and no database query: the key
row comes from the worker's cache (apikeys.keycache), and the round trip that
counts the request also reads the generation token. A cached row is used only
while that token is unchanged. Otherwise, or when the row is not cached yet,
the row is read from PostgreSQL and the request counted as before.
"""
import time
from dataclasses import dataclass

from django.utils import timezone

from apikeys import keycache, ratelimit
from apikeys.models import ApiKey
from apikeys.selectors import KeyRejected, key_by_prefix, parse_secret, rejection
from apikeys.services import record_use


@dataclass(frozen=True)
class Admission:
    api_key: ApiKey
    usage: ratelimit.Usage | None  # the key's rate-limit count; None when not limited


def admit(request, secret: str) -> Admission:
    """Authenticate ``secret`` and count the request against its key's limit, or raise KeyRejected.

    Only a request whose key is accepted is counted here; the caller counts a
    rejected one against the client IP's limit.
    """
    prefix, presented = parse_secret(secret)
    now = timezone.now()
    attempt = None
    cached = keycache.key_cache.get(prefix) if keycache.enabled() else None
    if cached is not None and rejection(cached.api_key, presented, now) is None:
        attempt = ratelimit.check_api_key(request, cached.api_key, token_key=keycache.token_key())
        if attempt.token is not None and attempt.token == cached.token:
            keycache.key_cache_lookups.labels(source="hit").inc()
            record_use(cached.api_key, now)
            return Admission(api_key=cached.api_key, usage=attempt.usage)

    redis_failed = attempt is not None and attempt.failed
    token = None
    if keycache.enabled() and not redis_failed:
        try:
            token = keycache.current_token()
        except Exception as error:  # any Redis failure: serve from the database, uncounted (fail open)
            ratelimit.report_bypass(error)
            redis_failed = True
    api_key = _load(prefix, token)
    rejected = rejection(api_key, presented, now)
    if rejected is not None:
        raise rejected
    record_use(api_key, now)
    if redis_failed:  # let through uncounted: asking Redis again would wait for its timeout again
        return Admission(api_key=api_key, usage=None)
    if attempt is not None and cached.api_key.pk == api_key.pk and (
        ratelimit.limit_for(request, cached.api_key) == ratelimit.limit_for(request, api_key)
    ):
        return Admission(api_key=api_key, usage=attempt.usage)  # counted already, against the same limit
    return Admission(api_key=api_key, usage=ratelimit.check_api_key(request, api_key).usage)


def _load(prefix: str, token: str | None) -> ApiKey:
    """Read a key row from PostgreSQL and cache it with ``token``, read just before, or raise KeyRejected.

    The token must be read before the row, so that a change committed after
    the read replaces it. The clock is read before the row too, so that the
    row's age is never underestimated.
    """
    loaded_at = time.monotonic()
    api_key = key_by_prefix(prefix)
    keycache.key_cache_lookups.labels(source="database").inc()
    if api_key is None:
        keycache.key_cache.discard(prefix)
        raise KeyRejected("The API key is not valid.", "invalid")
    if token is not None:
        keycache.key_cache.put(prefix, api_key, token, loaded_at)
    return api_key

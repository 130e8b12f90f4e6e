"""Rate limits per API key (reads and writes apart) and per client IP for requests without a valid key.

Counts live in the default cache (Redis in production), so all workers and
hosts share them. Windows, cache keys and rate strings are django-ratelimit's.
On Redis the count is one Lua script (INCR, EXPIRE on a window's first
request), a single round trip that also reads the API-key cache's token (see
apikeys.keycache): django-ratelimit's own get_usage needs two (add, then a
scripted incr), which doubled the cost of limiting in the benchmarks. Other caches (the local-memory
cache of a debug run) go through get_usage. When Redis fails, requests are served
without limits (fail open): each bypass is counted in a metric and logged at
most once a minute per process.
"""
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django_ratelimit.core import ALL, EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage
from django_redis.cache import RedisCache
from prometheus_client import Counter
from redis.commands.core import Script

from apikeys.models import ApiKey

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BYPASS_LOG_INTERVAL = 60.0  # seconds between two log lines about Redis bypasses

rate_limit_rejections = Counter(
    "consentvault_rate_limit_rejections_total", "Requests rejected with 429, by limit group.", ["group"]
)
rate_limit_bypasses = Counter(
    "consentvault_rate_limit_bypasses_total", "Requests served without a rate-limit check because the cache failed."
)


@dataclass(frozen=True)
class Usage:
    limit: int
    remaining: int
    reset_seconds: int
    exceeded: bool

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class _BypassLog:
    """Logs cache failures at most once per interval, with the number suppressed meanwhile."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = 0.0
        self._suppressed = 0

    def report(self, error: Exception) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < BYPASS_LOG_INTERVAL:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        logger.warning(
            "Rate limiting bypassed: the cache is unreachable",
            extra={"error": f"{type(error).__name__}: {error}", "bypasses_not_logged": suppressed},
        )


_bypass_log = _BypassLog()


def report_bypass(error: Exception) -> None:
    """Count a request let through unlimited because the cache failed, and log it at most once a minute."""
    if settings.RATELIMIT_ENABLE:
        rate_limit_bypasses.inc()
        _bypass_log.report(error)


def client_ip(request) -> str:
    """Return the client's IP address, trusting X-Forwarded-For only through TRUSTED_PROXY_COUNT proxies.

    Each trusted proxy appends the address it received the request from, so the
    client is the entry TRUSTED_PROXY_COUNT places from the end. Entries the
    caller wrote itself stand further left and are ignored.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # not an address: fall back to the socket's
    return remote


@dataclass(frozen=True)
class Count:
    """The outcome of counting one request."""

    usage: Usage | None  # None: rate limiting is off, or the cache call failed
    token: str | None = None  # the value read at ``token_key`` in the same round trip
    failed: bool = False  # the cache call failed, so the request went uncounted


# Counts a request in KEYS[1], sets the counter's expiry (ARGV[1] seconds) on
# the window's first request, and reads KEYS[2] when given. Redis runs it
# atomically. Profiled inside a request, one command took about a tenth less
# client CPU than a pipeline of three.
# redis-py sends it by SHA and loads it on the first NOSCRIPT reply.
_COUNT_SCRIPT = Script(
    None,
    b"""
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
if KEYS[2] then
  return {count, redis.call('GET', KEYS[2])}
end
return {count}
""",
)


def _count_in_redis(cache: RedisCache, *, group: str, value: str, rate: str, token_key: str | None):
    """Count one request in django-ratelimit's window, and read ``token_key``, in one round trip to Redis."""
    client = cache.client.get_client(write=True)
    if not settings.RATELIMIT_ENABLE:  # then the caller passed a token_key
        return None, client.get(token_key)
    limit, period = _split_rate(rate)
    window = _get_window(value, period)
    key = cache.make_key(_make_cache_key(group, window, rate, value, ALL))
    keys = [key] if token_key is None else [key, token_key]
    reply = _COUNT_SCRIPT(keys=keys, args=[period + EXPIRATION_FUDGE], client=client)
    token = reply[1] if len(reply) > 1 else None
    usage = {"count": reply[0], "limit": limit, "time_left": window - int(time.time())}
    usage["should_limit"] = usage["count"] > limit
    return usage, token


def _count(request, *, group: str, value: str, rate: str, token_key: str | None):
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if isinstance(cache, RedisCache):
        return _count_in_redis(cache, group=group, value=value, rate=rate, token_key=token_key)
    if token_key is not None:
        raise ValueError("only a Redis cache can read a token alongside the count")
    usage = get_usage(request, group=group, key=lambda _group, _request: value, rate=rate, increment=True)
    return usage, None


def _check(request, *, group: str, value: str, rate: str, token_key: str | None = None) -> Count:
    if not settings.RATELIMIT_ENABLE and token_key is None:
        return Count(usage=None)
    try:
        usage, token = _count(request, group=group, value=value, rate=rate, token_key=token_key)
    except Exception as error:  # any cache failure: fail open, as documented
        report_bypass(error)
        return Count(usage=None, failed=True)
    token = token.decode("ascii") if isinstance(token, bytes) else token
    if usage is None:  # rate limiting is off
        return Count(usage=None, token=token)
    if usage["limit"] == 0:  # django-ratelimit's sign that the cache returned no count
        report_bypass(RuntimeError("the cache returned no count"))
        return Count(usage=None, token=token)
    exceeded = usage["should_limit"]
    if exceeded:
        rate_limit_rejections.labels(group=group).inc()
    return Count(
        usage=Usage(
            limit=usage["limit"],
            remaining=max(usage["limit"] - usage["count"], 0),
            reset_seconds=max(usage["time_left"], 0),
            exceeded=exceeded,
        ),
        token=token,
    )


def limit_for(request, api_key: ApiKey) -> tuple[str, str]:
    """Return the group and rate a request counts against: its key's read or write limit."""
    if request.method in READ_METHODS:
        return "key-read", api_key.rate_limit_read or settings.CONSENTVAULT_RATE_READ
    return "key-write", api_key.rate_limit_write or settings.CONSENTVAULT_RATE_WRITE


def check_api_key(request, api_key: ApiKey, *, token_key: str | None = None) -> Count:
    """Count a request against its key's limit (the key's own override, else the default).

    With ``token_key``, the same round trip reads that Redis key (see apikeys.keycache).
    """
    group, rate = limit_for(request, api_key)
    return _check(request, group=group, value=str(api_key.pk), rate=rate, token_key=token_key)


def check_anonymous(request) -> Usage | None:
    """Count a request without a valid key against its client IP's limit."""
    return _check(request, group="anonymous", value=client_ip(request), rate=settings.CONSENTVAULT_RATE_ANON).usage


def check_admin_login(request) -> list[Usage]:
    """Count a login attempt to the Django admin, per client IP and per user name submitted."""
    rate = settings.CONSENTVAULT_RATE_ADMIN_LOGIN
    username = request.POST.get("username", "")[:150].casefold()
    usages = [
        _check(request, group="admin-login-ip", value=client_ip(request), rate=rate).usage,
        _check(request, group="admin-login-user", value=username, rate=rate).usage,
    ]
    return [usage for usage in usages if usage is not None]

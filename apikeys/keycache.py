"""A worker-local cache of API-key rows that Redis must vouch for on every request.

Reading a key row from PostgreSQL on each request costs a database round trip,
which is most of what authentication costs. Instead, each worker keeps the rows
it has read, each with the *generation token* it read from Redis just before.
Every change to a key made through the service (the API, the staff console or
a management command) replaces that token with a new random one. A cached row
is used only when all of these hold:

- the token read on this request, in the same Redis round trip as the rate-limit
  count, equals the one stored with the row;
- the row was read less than ``CONSENTVAULT_API_KEY_CACHE_SECONDS`` ago;
- the row itself still admits the secret: active, not expired, and the secret
  matches the current one or a previous one within its grace period.

What this gives:

- A change replaces the token after its transaction commits and before it
  returns, so the caller's next request, on any worker or host, reads the new
  token and reloads the row.
- When the Redis call of a request fails, that request reads the row from
  PostgreSQL: an outage costs speed, not correctness.
- When a change cannot replace the token because the Redis call fails, the
  change waits ``CONSENTVAULT_API_KEY_CACHE_SECONDS`` before it returns. By then
  every row cached before the change is too old to be used, even on a worker
  that was idle during the outage and finds Redis back with the old token.
- A flushed or restarted Redis has no token. The first request that notices
  draws a new random one, which no cached row carries.
- A change made outside the service (SQL in psql, a restored backup) reaches
  the workers within ``CONSENTVAULT_API_KEY_CACHE_SECONDS``.

Only a shared Redis cache can carry the token, so the cache is off with any
other cache backend (the quick start's local memory) or when the setting is 0.
"""
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django_redis.cache import RedisCache
from prometheus_client import Counter

from apikeys.models import ApiKey

logger = logging.getLogger(__name__)

TOKEN_CACHE_KEY = "apikeys:generation"
MAX_ENTRIES = 10_000  # more keys than any deployment has; past it, the cache starts over

key_cache_lookups = Counter(
    "consentvault_api_key_cache_lookups_total",
    "API-key lookups by where the row came from: hit (worker cache) or database.",
    ["source"],
)
token_failures = Counter(
    "consentvault_api_key_cache_token_failures_total",
    "Key changes that could not replace the generation token in Redis and waited out the cache lifetime.",
)


@dataclass
class Entry:
    api_key: ApiKey
    token: str
    loaded_at: float  # time.monotonic() taken before the row was read


class KeyCache:
    """The rows of one process, by key prefix."""

    def __init__(self):
        self._entries: dict[str, Entry] = {}

    def get(self, prefix: str) -> Entry | None:
        """Return the entry for ``prefix`` if it is younger than the cache lifetime."""
        entry = self._entries.get(prefix)
        if entry is None:
            return None
        if time.monotonic() - entry.loaded_at >= settings.CONSENTVAULT_API_KEY_CACHE_SECONDS:
            self._entries.pop(prefix, None)
            return None
        return entry

    def put(self, prefix: str, api_key: ApiKey, token: str, loaded_at: float) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[prefix] = Entry(api_key=api_key, token=token, loaded_at=loaded_at)

    def discard(self, prefix: str) -> None:
        self._entries.pop(prefix, None)

    def clear(self) -> None:
        self._entries.clear()


key_cache = KeyCache()


def _cache():
    return caches["default"]


def enabled() -> bool:
    """Return whether rows may be cached: a lifetime above zero and a Redis cache to carry the token."""
    return settings.CONSENTVAULT_API_KEY_CACHE_SECONDS > 0 and isinstance(_cache(), RedisCache)


def token_key() -> str:
    """Return the token's full Redis key, with the deployment's CACHE_KEY_PREFIX."""
    return _cache().make_key(TOKEN_CACHE_KEY)


def current_token() -> str:
    """Return the token, drawing a new one if Redis has none; a failed Redis call raises.

    SET NX GET is atomic: of two workers that find no token, one sets its own
    and both read that one.
    """
    fresh = secrets.token_hex(16)
    existing = _cache().client.get_client(write=True).set(token_key(), fresh, nx=True, get=True)
    if existing is None:
        return fresh
    return existing.decode("ascii") if isinstance(existing, bytes) else existing


def _replace_token() -> bool:
    try:
        _cache().client.get_client(write=True).set(token_key(), secrets.token_hex(16))
    except Exception as error:  # any Redis failure; the caller waits out the cache lifetime
        logger.warning(
            "Could not replace the API-key cache token", extra={"error": f"{type(error).__name__}: {error}"}
        )
        return False
    return True


def _replace_token_after_commit() -> None:
    if _replace_token():
        return
    token_failures.inc()
    lifetime = settings.CONSENTVAULT_API_KEY_CACHE_SECONDS
    logger.warning(
        "Waiting out the API-key cache lifetime, so that no worker uses the old row",
        extra={"wait_seconds": lifetime},
    )
    time.sleep(lifetime)


def invalidate() -> None:
    """Make every worker reload key rows; call it inside the transaction that changes a key.

    The token is replaced twice. Once now: a request on this same database
    connection reads the uncommitted change at once (a test runs inside one
    transaction that never commits). Once after commit: the replacement the
    other workers rely on, because a worker that reloads a row before the
    commit still reads the old one. Both happen whenever Redis is the cache,
    even where this process has the cache lifetime at 0: the workers may not.
    """
    key_cache.clear()
    if not isinstance(_cache(), RedisCache):
        return  # no worker caches rows
    _replace_token()
    transaction.on_commit(_replace_token_after_commit)

"""Reads of API keys: parsing a presented secret, loading a key row and judging it."""
import datetime
import hmac
import json
import uuid

from apikeys.models import ApiKey
from apikeys.services import KEY_MARKER, hash_secret
from consentvault.db import aware_utc, fetch_one

_KEY_COLUMNS = (
    "id",
    "name",
    "prefix",
    "secret_hash",
    "scopes",
    "active",
    "created_at",
    "expires_at",
    "last_used_at",
    "previous_secret_hash",
    "previous_secret_expires_at",
    "rate_limit_read",
    "rate_limit_write",
)
_KEY_BY_PREFIX_SQL = (
    f"SELECT {', '.join(_KEY_COLUMNS)} FROM {ApiKey._meta.db_table} WHERE prefix = %s"  # noqa: S608 (constants only)
)


class KeyRejected(Exception):
    """The presented key cannot be used; the message is safe to show the caller.

    ``reason`` is a metric label: malformed, invalid, revoked or expired.
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def parse_secret(secret: str) -> tuple[str, str]:
    """Return the prefix and the stored form (hash) of a presented secret, or raise KeyRejected."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_MARKER or not parts[1]:
        raise KeyRejected("The API key is malformed.", "malformed")
    return parts[1], hash_secret(secret)


def rejection(api_key: ApiKey, presented_hash: str, now: datetime.datetime) -> KeyRejected | None:
    """Return why ``api_key`` refuses the secret whose hash is ``presented_hash``, or None if it accepts it.

    The hashes are compared in constant time. A secret replaced by a rotation
    works until its grace period ends.
    """
    current = hmac.compare_digest(api_key.secret_hash, presented_hash)
    previous = (
        api_key.previous_secret_hash is not None
        and api_key.previous_secret_expires_at is not None
        and api_key.previous_secret_expires_at > now
        and hmac.compare_digest(api_key.previous_secret_hash, presented_hash)
    )
    if not (current or previous):
        return KeyRejected("The API key is not valid.", "invalid")
    if not api_key.active:
        return KeyRejected("The API key has been revoked.", "revoked")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return KeyRejected("The API key has expired.", "expired")
    return None


def key_by_prefix(prefix: str) -> ApiKey | None:
    """Load a key by its prefix with hand-written SQL (see consentvault.db)."""
    row = fetch_one(_KEY_BY_PREFIX_SQL, [prefix])
    if row is None:
        return None
    values = dict(zip(_KEY_COLUMNS, row))
    scopes = values["scopes"]
    return ApiKey(
        id=values["id"] if isinstance(values["id"], uuid.UUID) else uuid.UUID(values["id"]),
        name=values["name"],
        prefix=values["prefix"],
        secret_hash=values["secret_hash"],
        scopes=json.loads(scopes) if isinstance(scopes, str) else scopes,
        active=bool(values["active"]),
        created_at=aware_utc(values["created_at"]),
        expires_at=aware_utc(values["expires_at"]),
        last_used_at=aware_utc(values["last_used_at"]),
        previous_secret_hash=values["previous_secret_hash"],
        previous_secret_expires_at=aware_utc(values["previous_secret_expires_at"]),
        rate_limit_read=values["rate_limit_read"],
        rate_limit_write=values["rate_limit_write"],
    )

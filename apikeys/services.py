"""Every write to API keys. Each change is recorded in ApiKeyEvent with its actor."""
import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apikeys import keycache
from apikeys.models import ApiKey, ApiKeyEvent, Scope
from apikeys.rates import parse_rate
from consentvault.errors import Unprocessable

logger = logging.getLogger(__name__)

KEY_MARKER = "cv"
PREFIX_BYTES = 4  # 8 hex characters: public, unique, only narrows the lookup
SECRET_BYTES = 32  # 256 bits of randomness
DEFAULT_GRACE = datetime.timedelta(hours=24)
MAX_GRACE = datetime.timedelta(days=30)
# The finest step of last_used_at, so that reads do not each turn into a write.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)

# Fields a caller may change, and the ones whose new value the audit trail records.
UPDATABLE_FIELDS = ("name", "scopes", "active", "expires_at", "rate_limit_read", "rate_limit_write", "revoked_reason")


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    """Return the stored form of a key: SHA-256 suffices for 256-bit random secrets."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret(prefix: str) -> str:
    return f"{KEY_MARKER}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def validate_scopes(scopes) -> list[str]:
    valid = set(Scope.values)
    unknown = [scope for scope in scopes if scope not in valid]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; valid scopes are {', '.join(Scope.values)}")
    return sorted(set(scopes), key=Scope.values.index)


def _check_expiry(expires_at: datetime.datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise Unprocessable(
            "expires_at must lie in the future; to stop a key now, set active to false.",
            field="expires_at",
            code="in_past",
        )


def _record(api_key: ApiKey, action: str, actor: str, changes: dict | None = None) -> None:
    ApiKeyEvent.objects.create(api_key=api_key, action=action, actor=actor, changes=changes or {})


def _audit_value(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def create_api_key(
    *,
    name: str,
    scopes: list[str],
    actor: str,
    expires_at: datetime.datetime | None = None,
    rate_limit_read: str | None = None,
    rate_limit_write: str | None = None,
) -> IssuedKey:
    """Create a key and return it with its secret, which is not stored anywhere."""
    scopes = validate_scopes(scopes)
    _check_expiry(expires_at)
    for rate in (rate_limit_read, rate_limit_write):
        if rate is not None:
            parse_rate(rate)
    for _attempt in range(5):
        prefix = secrets.token_hex(PREFIX_BYTES)
        secret = _new_secret(prefix)
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    name=name,
                    prefix=prefix,
                    secret_hash=hash_secret(secret),
                    scopes=scopes,
                    expires_at=expires_at,
                    rate_limit_read=rate_limit_read,
                    rate_limit_write=rate_limit_write,
                    created_by=actor,
                )
                _record(api_key, ApiKeyEvent.Action.CREATED, actor, {"name": name, "scopes": scopes})
        except IntegrityError:
            continue  # prefix collision: draw again
        logger.info("API key created", extra={"api_key_id": str(api_key.id), "api_key_prefix": prefix, "actor": actor})
        return IssuedKey(api_key=api_key, secret=secret)
    raise RuntimeError("Could not draw a unique API key prefix after 5 attempts.")


def update_api_key(*, api_key: ApiKey, changes: dict, actor: str) -> ApiKey:
    """Apply ``changes`` to a key; fields not in ``changes`` keep their value.

    Setting ``active`` to false revokes the key from the next request on, on
    every worker: see apikeys.keycache.
    """
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    if "expires_at" in changes:
        _check_expiry(changes["expires_at"])
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        changed = {}
        for name in UPDATABLE_FIELDS:
            if name not in changes:
                continue
            value = changes[name]
            if name == "scopes":
                value = validate_scopes(value)
            elif name in ("rate_limit_read", "rate_limit_write") and value is not None:
                parse_rate(value)
            if getattr(api_key, name) != value:
                setattr(api_key, name, value)
                changed[name] = _audit_value(value)

        action = ApiKeyEvent.Action.UPDATED
        if "active" in changed:
            action = ApiKeyEvent.Action.REACTIVATED if api_key.active else ApiKeyEvent.Action.REVOKED
            api_key.revoked_at = None if api_key.active else timezone.now()
            if api_key.active:
                api_key.revoked_reason = ""
        if changed:
            api_key.save()
            _record(api_key, action, actor, changed)
            keycache.invalidate()
    logger.info(
        "API key updated",
        extra={"api_key_id": str(api_key.id), "fields": sorted(changed), "active": api_key.active, "actor": actor},
    )
    return api_key


def revoke_api_key(*, api_key: ApiKey, actor: str, reason: str = "") -> ApiKey:
    """Revoke a key at once; the row stays for the audit trail. Revoking a revoked key changes nothing."""
    return update_api_key(api_key=api_key, changes={"active": False, "revoked_reason": reason}, actor=actor)


def rotate_api_key(*, api_key: ApiKey, actor: str, grace: datetime.timedelta = DEFAULT_GRACE) -> IssuedKey:
    """Issue a new secret for a key; the current one keeps working for ``grace``, then stops.

    The key keeps its id, prefix, scopes and limits, so clients can roll the
    secret without downtime. A secret from an earlier rotation stops at once.
    """
    if not datetime.timedelta(0) <= grace <= MAX_GRACE:
        raise ValueError(f"the grace period must be between 0 and {MAX_GRACE.days} days")
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        secret = _new_secret(api_key.prefix)
        now = timezone.now()
        if grace:
            api_key.previous_secret_hash = api_key.secret_hash
            api_key.previous_secret_expires_at = now + grace
        else:
            api_key.previous_secret_hash = None
            api_key.previous_secret_expires_at = None
        api_key.secret_hash = hash_secret(secret)
        api_key.save()
        keycache.invalidate()
        _record(
            api_key,
            ApiKeyEvent.Action.ROTATED,
            actor,
            {"previous_secret_valid_until": _audit_value(api_key.previous_secret_expires_at)},
        )
    logger.info(
        "API key rotated",
        extra={"api_key_id": str(api_key.id), "grace_seconds": int(grace.total_seconds()), "actor": actor},
    )
    return IssuedKey(api_key=api_key, secret=secret)


def record_use(api_key: ApiKey, now: datetime.datetime) -> None:
    """Refresh a key's last_used_at, at most once per LAST_USED_RESOLUTION across all workers.

    The condition in the UPDATE keeps several workers from writing in the same
    minute; ``api_key`` is updated either way, so this worker skips the
    UPDATE until the next minute.
    """
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now

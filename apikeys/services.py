"""Every write to API keys."""
import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.models import ApiKey, Scope

logger = logging.getLogger(__name__)

KEY_MARKER = "cv"
PREFIX_BYTES = 4  # 8 hex characters: public, unique, only narrows the lookup
SECRET_BYTES = 32  # 256 bits of randomness


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    """Return the stored form of a key: SHA-256 suffices for 256-bit random secrets."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret() -> tuple[str, str]:
    prefix = secrets.token_hex(PREFIX_BYTES)
    return prefix, f"{KEY_MARKER}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def validate_scopes(scopes) -> list[str]:
    valid = set(Scope.values)
    unknown = [scope for scope in scopes if scope not in valid]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; valid scopes are {', '.join(Scope.values)}")
    return sorted(set(scopes), key=Scope.values.index)


def create_api_key(
    *, name: str, scopes: list[str], expires_at: datetime.datetime | None = None
) -> IssuedKey:
    """Create a key and return it with its secret, which is not stored anywhere."""
    scopes = validate_scopes(scopes)
    for _attempt in range(5):
        prefix, secret = _new_secret()
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    name=name,
                    prefix=prefix,
                    secret_hash=hash_secret(secret),
                    scopes=scopes,
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue  # prefix collision: draw again
        logger.info("API key created", extra={"api_key_id": str(api_key.id), "api_key_prefix": prefix})
        return IssuedKey(api_key=api_key, secret=secret)
    raise RuntimeError("Could not draw a unique API key prefix after 5 attempts.")


def update_api_key(*, api_key: ApiKey, changes: dict) -> ApiKey:
    """Apply ``changes`` (name, scopes, active, expires_at) to a key.

    Setting ``active`` to false revokes the key from the next request on,
    because authentication reads the row on every request.
    """
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if "name" in changes:
            api_key.name = changes["name"]
        if "scopes" in changes:
            api_key.scopes = validate_scopes(changes["scopes"])
        if "expires_at" in changes:
            api_key.expires_at = changes["expires_at"]
        if "active" in changes and changes["active"] != api_key.active:
            api_key.active = changes["active"]
            api_key.revoked_at = None if api_key.active else timezone.now()
        api_key.save()
    logger.info(
        "API key updated",
        extra={"api_key_id": str(api_key.id), "fields": sorted(changes), "active": api_key.active},
    )
    return api_key

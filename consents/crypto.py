"""Envelope encryption of personal data, and the blind index used to find it.

Every subject has its own random 256-bit data key. Its identifiers and the
evidence of its consent events are encrypted under that key with AES-256-GCM.
The data key is stored wrapped (encrypted) by a master key from
``CONSENTVAULT_MASTER_KEYS``, together with that master key's fingerprint.
Destroying a subject's wrapped data key makes all of its data unreadable
everywhere, backups included (crypto-shredding).

This module imports no models, so the settings module can use it to validate
keys at start-up.
"""
import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = b"\x01"  # first byte of every ciphertext, so the format can evolve
_DATA_KEY_AAD = b"consentvault data key"


class KeyConfigurationError(ValueError):
    """A key variable is malformed. The message names the variable, never a key."""


class DecryptionError(Exception):
    """Ciphertext that no configured key can decrypt, or that was tampered with."""


def generate_key() -> str:
    """Return a new random 256-bit key, base64url-encoded."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def fingerprint(key: bytes) -> str:
    """Return a short public identifier of a master key (16 hex digits of a SHA-256)."""
    return hashlib.sha256(b"consentvault master key fingerprint\x00" + key).hexdigest()[:16]


def _decode_key(text: str, *, variable: str, position: str) -> bytes:
    """Decode strict base64url, with or without its "=" padding; trailing characters are an error."""
    try:
        standard = text.replace("-", "+").replace("_", "/")
        if "=" not in standard:
            standard += "=" * (-len(standard) % 4)
        key = binascii.a2b_base64(standard.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise KeyConfigurationError(
            f"{variable}: {position} is not valid base64url. Generate keys with `python manage.py generate_key`."
        ) from None
    if len(key) != KEY_BYTES:
        raise KeyConfigurationError(
            f"{variable}: {position} decodes to {len(key)} bytes; a key must be {KEY_BYTES} bytes. "
            "Generate keys with `python manage.py generate_key`."
        )
    return key


@dataclass(frozen=True)
class KeyRing:
    """The configured master keys: the first encrypts, all of them decrypt."""

    keys: dict[str, bytes]  # fingerprint → key, in configuration order
    primary: str  # fingerprint of the key that wraps new data keys

    def __repr__(self) -> str:  # never show key material, even in a debugger or traceback
        return f"KeyRing(primary={self.primary!r}, fingerprints={list(self.keys)!r})"

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Encrypt a data key under the primary master key; return (fingerprint, wrapped key)."""
        return self.primary, encrypt(self.keys[self.primary], data_key, _DATA_KEY_AAD)

    def unwrap(self, master_fingerprint: str, wrapped: bytes) -> bytes:
        key = self.keys.get(master_fingerprint)
        if key is None:
            raise DecryptionError(f"master key {master_fingerprint} is not in CONSENTVAULT_MASTER_KEYS")
        return decrypt(key, wrapped, _DATA_KEY_AAD)


def parse_master_keys(value: str, *, variable: str = "CONSENTVAULT_MASTER_KEYS") -> KeyRing:
    """Parse a comma-separated list of base64url master keys, the first being the primary.

    Raises KeyConfigurationError for an empty list, an empty entry, a malformed
    key or a key listed twice. Whitespace around entries is ignored.
    """
    entries = [entry.strip() for entry in (value or "").split(",")]
    if not any(entries):
        raise KeyConfigurationError(
            f"{variable} is empty. Set it to one or more comma-separated keys from `python manage.py generate_key`."
        )
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(entries, start=1):
        position = f"entry {number} of {len(entries)}"
        if not entry:
            raise KeyConfigurationError(f"{variable}: {position} is empty; remove the extra comma.")
        key = _decode_key(entry, variable=variable, position=position)
        key_fingerprint = fingerprint(key)
        if key_fingerprint in keys:
            raise KeyConfigurationError(f"{variable}: {position} repeats an earlier key; list each key once.")
        keys[key_fingerprint] = key
    return KeyRing(keys=keys, primary=next(iter(keys)))


@dataclass(frozen=True)
class BlindIndexKey:
    """The HMAC key of the blind indexes, with a repr that hides it."""

    key: bytes

    def __repr__(self) -> str:
        return "BlindIndexKey(<hidden>)"


def parse_blind_index_key(value: str, *, variable: str = "CONSENTVAULT_BLIND_INDEX_KEY") -> BlindIndexKey:
    value = (value or "").strip()
    if not value:
        raise KeyConfigurationError(
            f"{variable} is empty. Set it to a key from `python manage.py generate_key --blind-index`."
        )
    return BlindIndexKey(_decode_key(value, variable=variable, position="the key"))


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt with AES-256-GCM; the result is version byte + nonce + ciphertext and tag."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def decrypt(key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_VERSION:
        raise DecryptionError("ciphertext is truncated or of an unknown format")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated_data)
    except InvalidTag:
        raise DecryptionError("ciphertext does not decrypt under the expected key") from None


def blind_index(key: BlindIndexKey, kind: str, normalized_value: str) -> str:
    """Return the HMAC-SHA256 that finds an identifier without storing it in the clear.

    ``kind`` (email, phone) is part of the input, so one value of two kinds
    never collides. The result does not depend on the master keys, so rotating
    them leaves every index as it is.
    """
    message = f"{kind}\x00{normalized_value}".encode("utf-8")
    return hmac.new(key.key, message, hashlib.sha256).hexdigest()

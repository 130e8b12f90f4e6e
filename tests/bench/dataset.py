"""Building blocks of the benchmark data sets: keys that persist between runs, and fast subject loading."""
import base64
import os
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = Path(__file__).resolve().parents[2]
KEYS_FILE = ROOT / "var" / "bench" / "keys.env"

_DATA_KEY_AAD = b"consentvault data key"  # the associated data consents.crypto wraps data keys with


def bench_keys() -> dict[str, str]:
    """Return the benchmark's master and blind-index keys, created once and kept in var/bench/keys.env.

    The data sets stay readable across runs only while the same keys are used.
    """
    if not KEYS_FILE.exists():
        KEYS_FILE.parent.mkdir(parents=True, exist_ok=True)
        keys = {
            "CONSENTVAULT_MASTER_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "CONSENTVAULT_BLIND_INDEX_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        }
        KEYS_FILE.write_text("".join(f"{name}={value}\n" for name, value in keys.items()))
        KEYS_FILE.chmod(0o600)
    return dict(line.split("=", 1) for line in KEYS_FILE.read_text().split())


def load_subjects(conninfo: str, count: int, master_key: str, fingerprint: str) -> None:
    """COPY ``count`` subjects named subject-1 … subject-N, each with its own wrapped data key."""
    wrapper = AESGCM(base64.urlsafe_b64decode(master_key))
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY consents_subject (subject_id, master_key_fingerprint, data_key_wrapped, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for number in range(1, count + 1):
                nonce = os.urandom(12)
                wrapped = b"\x01" + nonce + wrapper.encrypt(nonce, os.urandom(32), _DATA_KEY_AAD)
                copy.write_row((f"subject-{number}", fingerprint, wrapped, "2025-11-01T00:00:00Z", "2025-11-01T00:00:00Z"))

"""Report which master keys protect how many subjects."""
from django.core.management.base import BaseCommand, CommandError

from consents import vault
from consents.key_rotation import key_usage


class Command(BaseCommand):
    help = (
        "Report, per master-key fingerprint, how many subjects' data keys it wraps, and say which "
        "configured keys can be removed from CONSENTVAULT_MASTER_KEYS. Exits 1 when some data key is "
        "wrapped by a key that is not configured."
    )

    def handle(self, *args, **options):
        ring = vault.keyring()
        usage = key_usage()
        erased = usage.pop(None, 0)

        self.stdout.write("Master keys in CONSENTVAULT_MASTER_KEYS, in order:")
        for position, key_fingerprint in enumerate(ring.keys, start=1):
            count = usage.pop(key_fingerprint, 0)
            role = "primary" if key_fingerprint == ring.primary else "retired"
            line = f"  {position}. {key_fingerprint}  {role:<8} wraps {count:,} data key(s)"
            if role == "retired":
                if count:
                    line += "; run `manage.py reencrypt` before removing it"
                else:
                    line += "; can be removed from the list"
            self.stdout.write(line)
        self.stdout.write(f"Erased subjects (no data key): {erased:,}")

        unknown = sum(usage.values())
        if unknown:
            for key_fingerprint, count in sorted(usage.items()):
                self.stderr.write(f"Not configured: {key_fingerprint} wraps {count:,} data key(s), which cannot be decrypted.")
            raise CommandError(
                f"{unknown:,} data key(s) are wrapped by master keys missing from CONSENTVAULT_MASTER_KEYS; "
                "add those keys back."
            )

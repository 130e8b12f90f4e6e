"""Print a new random key for CONSENTVAULT_MASTER_KEYS or CONSENTVAULT_BLIND_INDEX_KEY."""
import base64

from django.core.management.base import BaseCommand

from consents.crypto import fingerprint, generate_key


class Command(BaseCommand):
    help = (
        "Print a new random 256-bit master key (base64url) and, on stderr, its fingerprint. "
        "Put it first in CONSENTVAULT_MASTER_KEYS to make it the primary key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--blind-index",
            action="store_true",
            help="Print a key for CONSENTVAULT_BLIND_INDEX_KEY instead. That key is never rotated: "
            "changing it makes every stored email and phone unfindable.",
        )

    def handle(self, *args, blind_index, **options):
        key = generate_key()
        if not blind_index:
            self.stderr.write(f"Fingerprint: {fingerprint(base64.urlsafe_b64decode(key))}")
        self.stdout.write(key)

"""Move every wrapped data key to the primary master key, batch by batch."""
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from consents import vault
from consents import key_rotation
from consents.models import Subject

MAX_LISTED_FAILURES = 50


class Progress:
    """A one-line progress display on stderr: count, percentage, rate."""

    def __init__(self, stream, label: str, total: int):
        self.stream, self.label, self.total = stream, label, max(total, 1)
        self.started = time.monotonic()

    def __call__(self, done: int) -> None:
        rate = done / max(time.monotonic() - self.started, 1e-9)
        # On a terminal the line is redrawn in place, and ends once the count is complete.
        end = "\n" if not self.stream.isatty() or done >= self.total else "\r"
        self.stream.write(f"{self.label}: {done:,}/{self.total:,} ({100 * done / self.total:.0f}%), {rate:,.0f}/s{end}")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Re-wrap every subject's data key under the primary (first) key of CONSENTVAULT_MASTER_KEYS. "
        "Checks first that every data key can be decrypted and writes nothing if one cannot. Batched, "
        "resumable after a kill, and idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument(
            "--rotate-data-keys",
            action="store_true",
            help="Also give each subject a fresh data key and re-encrypt its identifiers and evidence.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=key_rotation.DEFAULT_BATCH_SIZE,
            help=f"Subjects per transaction (default {key_rotation.DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args, dry_run, rotate_data_keys: bool, batch_size, **options):
        if not 1 <= batch_size <= 100_000:
            raise CommandError("--batch-size must be between 1 and 100000.")
        ring = vault.keyring()
        total = Subject.objects.filter(data_key_wrapped__isnull=False).count()
        self.stdout.write(f"Primary master key: {ring.primary}. Subjects with a data key: {total:,}.")

        check = key_rotation.find_undecryptable(
            batch_size=batch_size, deep=rotate_data_keys, progress=Progress(sys.stderr, "checking", total)
        )
        if check.failures:
            for pk, subject_id in check.failures[:MAX_LISTED_FAILURES]:
                self.stderr.write(f"cannot decrypt: subject row {pk} ({subject_id})")
            if len(check.failures) > MAX_LISTED_FAILURES:
                self.stderr.write(f"… and {len(check.failures) - MAX_LISTED_FAILURES:,} more")
            raise CommandError(
                f"{len(check.failures):,} subject(s) cannot be decrypted with the configured master keys; "
                "nothing was written. Add the missing key to CONSENTVAULT_MASTER_KEYS and run again."
            )

        if rotate_data_keys:
            report = key_rotation.rotate_data_keys(
                batch_size=batch_size, dry_run=dry_run, progress=Progress(sys.stderr, "re-keying", total)
            )
            verb = "Would give" if dry_run else "Gave"
            self.stdout.write(
                f"{verb} {report.rekeyed:,} subject(s) a fresh data key in {report.seconds:.1f} s "
                f"({report.rekeyed / max(report.seconds, 1e-9):,.0f}/s)."
            )
            return

        pending = total - Subject.objects.filter(master_key_fingerprint=ring.primary).count()
        report = key_rotation.rewrap_data_keys(
            batch_size=batch_size, dry_run=dry_run, progress=Progress(sys.stderr, "re-wrapping", pending)
        )
        verb = "Would re-wrap" if dry_run else "Re-wrapped"
        self.stdout.write(
            f"{verb} {report.rewrapped:,} data key(s) under {ring.primary} in {report.seconds:.1f} s "
            f"({report.rewrapped / max(report.seconds, 1e-9):,.0f}/s); "
            f"{report.already_current:,} were already under it."
        )


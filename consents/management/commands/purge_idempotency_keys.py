"""Delete remembered Idempotency-Key responses past their retention window."""
import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from consents.services import purge_idempotency_records


class Command(BaseCommand):
    help = (
        "Delete idempotency records older than CONSENTVAULT_IDEMPOTENCY_TTL_HOURS (default 24). "
        "Run it from cron; expired records are also ignored on use."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=None,
            help="Age in hours above which records are deleted; at least CONSENTVAULT_IDEMPOTENCY_TTL_HOURS.",
        )

    def handle(self, *args, older_than_hours, **options):
        minimum = settings.CONSENTVAULT_IDEMPOTENCY_TTL_HOURS
        hours = minimum if older_than_hours is None else older_than_hours
        if hours < minimum:
            raise CommandError(f"--older-than-hours must be at least {minimum}, the promised retention window.")
        deleted = purge_idempotency_records(older_than=datetime.timedelta(hours=hours))
        self.stdout.write(f"Deleted {deleted} idempotency record(s) older than {hours} hours.")

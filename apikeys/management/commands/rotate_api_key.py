"""Issue a new secret for an API key and print it alone on the last line."""
import datetime

from django.core.management.base import BaseCommand, CommandError

from apikeys import services
from apikeys.management.commands._common import command_actor, get_key


class Command(BaseCommand):
    help = (
        "Issue a new secret for an API key, printed alone on the last line. The old secret keeps "
        "working for --grace-seconds (default 86400). Exits 1 for an unknown id."
    )

    def add_arguments(self, parser):
        parser.add_argument("key_id", help="The key's id (a UUID), as list_api_keys prints it.")
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=86400,
            help="Seconds the old secret keeps working; 0 stops it at once (default 86400, at most 30 days).",
        )

    def handle(self, *args, key_id, grace_seconds, **options):
        api_key = get_key(key_id)
        try:
            issued = services.rotate_api_key(
                api_key=api_key, actor=command_actor(), grace=datetime.timedelta(seconds=grace_seconds)
            )
        except ValueError as exc:
            raise CommandError(f"--grace-seconds: {exc}.") from None
        self.stdout.write(f"Rotated API key {issued.api_key.id} ({issued.api_key.name}).")
        if grace_seconds:
            expires = issued.api_key.previous_secret_expires_at.isoformat()
            self.stdout.write(f"The old secret works until {expires}. Store the new secret now; it is not shown again.")
        else:
            self.stdout.write("The old secret no longer works. Store the new secret now; it is not shown again.")
        self.stdout.write(issued.secret)

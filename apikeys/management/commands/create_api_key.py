"""Create an API key and print its secret alone on the last line."""
import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apikeys import services
from apikeys.management.commands._common import command_actor
from apikeys.models import Scope
from apikeys.rates import parse_rate


class Command(BaseCommand):
    help = "Create an API key. The secret is printed once, alone on the last line of the output."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="A label for the key, such as the client's name.")
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            choices=Scope.values,
            help="A scope to grant; repeat for several (read, write, pii, admin).",
        )
        parser.add_argument("--expires-in-days", type=int, help="Days until the key stops working (default: never).")
        parser.add_argument("--rate-read", help="Read limit of this key, such as 1200/m (default: CONSENTVAULT_RATE_READ).")
        parser.add_argument("--rate-write", help="Write limit of this key, such as 600/m (default: CONSENTVAULT_RATE_WRITE).")

    def handle(self, *args, name, scopes, expires_in_days, rate_read, rate_write, **options):
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("--name must have 1 to 100 characters.")
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be 1 or more.")
            expires_at = timezone.now() + datetime.timedelta(days=expires_in_days)
        for option, rate in (("--rate-read", rate_read), ("--rate-write", rate_write)):
            if rate is not None:
                try:
                    parse_rate(rate)
                except ValueError as exc:
                    raise CommandError(f"{option}: {exc}.") from None

        issued = services.create_api_key(
            name=name,
            scopes=scopes,
            actor=command_actor(),
            expires_at=expires_at,
            rate_limit_read=rate_read,
            rate_limit_write=rate_write,
        )
        key = issued.api_key
        self.stdout.write(f"Created API key {key.id} ({key.name}, prefix {key.prefix}, scopes {', '.join(key.scopes)}).")
        self.stdout.write("Store the secret now; it is not shown again.")
        self.stdout.write(issued.secret)

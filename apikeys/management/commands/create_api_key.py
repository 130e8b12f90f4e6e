"""Create an API key and print its secret alone on the last line."""
from django.core.management.base import BaseCommand, CommandError

from apikeys import services
from apikeys.models import Scope


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
            help="A scope to grant; repeat for several (read, write, admin).",
        )

    def handle(self, *args, name, scopes, **options):
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("--name must have 1 to 100 characters.")
        issued = services.create_api_key(name=name, scopes=scopes)
        key = issued.api_key
        self.stdout.write(f"Created API key {key.id} ({key.name}, prefix {key.prefix}, scopes {', '.join(key.scopes)}).")
        self.stdout.write("Store the secret now; it is not shown again.")
        self.stdout.write(issued.secret)

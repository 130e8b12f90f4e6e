"""Revoke an API key at once."""
from django.core.management.base import BaseCommand

from apikeys import services
from apikeys.management.commands._common import command_actor, get_key


class Command(BaseCommand):
    help = "Revoke an API key: its next request, on every worker, gets 401. Exits 1 for an unknown id."

    def add_arguments(self, parser):
        parser.add_argument("key_id", help="The key's id (a UUID), as list_api_keys prints it.")
        parser.add_argument("--reason", default="", help="Why the key is revoked; kept in its audit trail.")

    def handle(self, *args, key_id, reason, **options):
        api_key = services.revoke_api_key(api_key=get_key(key_id), actor=command_actor(), reason=reason[:500])
        self.stdout.write(f"Revoked API key {api_key.id} ({api_key.name}, prefix {api_key.prefix}).")

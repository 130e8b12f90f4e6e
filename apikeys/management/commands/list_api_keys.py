"""List API keys: id, prefix, name, scopes, state. Never a secret."""
from django.core.management.base import BaseCommand
from django.utils import timezone

from apikeys.models import ApiKey


class Command(BaseCommand):
    help = "List API keys as tab-separated columns: id, prefix, name, scopes, state, last used. Never prints a secret."

    def add_arguments(self, parser):
        parser.add_argument("--active", action="store_true", help="Only keys that are active and not expired.")
        parser.add_argument("--name", help="Only keys whose name contains this text (case-insensitive).")

    def handle(self, *args, active, name, **options):
        keys = ApiKey.objects.order_by("created_at")
        if name:
            keys = keys.filter(name__icontains=name)
        now = timezone.now()
        self.stdout.write("id\tprefix\tname\tscopes\tstate\tlast_used_at")
        for key in keys:
            if not key.active:
                state = "revoked"
            elif key.expires_at is not None and key.expires_at <= now:
                state = "expired"
            else:
                state = "active"
            if active and state != "active":
                continue
            last_used = key.last_used_at.isoformat() if key.last_used_at else "-"
            self.stdout.write(f"{key.id}\t{key.prefix}\t{key.name}\t{','.join(key.scopes)}\t{state}\t{last_used}")

"""Shared pieces of the API-key commands."""
import getpass
import uuid

from django.core.management.base import CommandError

from apikeys.models import ApiKey


def command_actor() -> str:
    """Return the audit-trail actor of a command: the operating-system user that ran it."""
    try:
        return f"command:{getpass.getuser()}"
    except (KeyError, OSError):
        return "command:unknown"


def get_key(key_id: str) -> ApiKey:
    try:
        return ApiKey.objects.get(pk=uuid.UUID(key_id))
    except (ValueError, ApiKey.DoesNotExist):
        raise CommandError(f"No API key has the id {key_id!r}; list them with `manage.py list_api_keys`.") from None

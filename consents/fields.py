"""Model fields of the consents app."""
import json

from django.db import models


class JSONTextField(models.TextField):
    """JSON kept as ASCII-escaped text rather than jsonb.

    PostgreSQL's jsonb rejects the NUL character and lone surrogates, which
    valid JSON may carry. Evidence is stored exactly as the caller sent it,
    so it is serialised here with every such character escaped.
    """

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return json.loads(value)

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value)
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))

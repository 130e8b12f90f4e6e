"""One JSON object per log line, so operators can filter with ``jq``."""
import contextvars
import datetime
import json
import logging

# The current request's id, added to every line logged while it is handled.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


class RedactDjangoRequestPaths(logging.Filter):
    """Keep raw URL paths, which may contain a caller's subject id, out of Django's own log lines.

    django.request logs "<reason>: <path>" for each 4xx and 5xx with the
    request object attached. The path is replaced, the request object dropped,
    and 503s (the health probe reporting a failing dependency, which it logs
    itself) are left out.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("django.request"):
            return True
        if getattr(record, "status_code", None) == 503:
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(
                "[path]" if isinstance(argument, str) and argument.startswith("/") else argument
                for argument in record.args
            )
        if hasattr(record, "request"):
            record.request = "[redacted]"
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as JSON with a lowercase ``level`` field.

    Fields given through ``extra=`` are copied to the top level. Values that
    JSON cannot encode are written with ``str()``.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)

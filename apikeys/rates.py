"""Rate strings in django-ratelimit's form: "1200/m", "5/10s", "100000/d".

Imports no models, so the settings module validates rates with it at start-up.
"""
import re

_RATE = re.compile(r"^([0-9]+)/([0-9]*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Return (requests, period in seconds), or raise ValueError saying what a rate looks like."""
    match = _RATE.match(rate.strip()) if isinstance(rate, str) else None
    if match is None:
        raise ValueError(f"{rate!r} is not a rate; write requests/period, such as 1200/m, 5/10s or 100000/d")
    count, multiplier, unit = match.groups()
    period = int(multiplier or 1) * _UNIT_SECONDS[unit]
    if int(count) < 1 or period < 1:
        raise ValueError(f"{rate!r} must allow at least 1 request per period of at least 1 second")
    return int(count), period

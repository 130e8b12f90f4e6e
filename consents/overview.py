"""The numbers behind the staff console's overview page."""
import datetime

from django.core.cache import cache
from django.db.models import Count, ExpressionWrapper, F, Q, Value, fields
from django.db.models.functions import TruncDate
from django.utils import timezone

from consents.models import Action, ConsentEvent, CurrentConsent, Purpose

OVERVIEW_DAYS = 90
# Seconds the overview's numbers are kept in the shared cache: computing them
# reads every current state and 90 days of events (about 0.5 s for 1,000,000
# events on the benchmark machine), which a dashboard need not repeat on each load.
CACHE_SECONDS = 60


def overview_numbers() -> dict:
    """Return the overview's status counts and daily activity, at most CACHE_SECONDS old."""
    return cache.get_or_set(
        "consents:overview",
        lambda: {"statuses": status_counts(), "activity": daily_activity()},
        CACHE_SECONDS,
    )


def status_counts() -> list[dict]:
    """Return, per purpose, how many subjects are granted, withdrawn, expired or need re-consent.

    One grouped query over the current states, evaluated with the same rules
    as consents.selectors.evaluate_status.
    """
    now = timezone.now()
    granted = Q(action=Action.GRANTED)
    stale_version = Q(version__lt=F("purpose__minimum_valid_version"))
    expired = Q(purpose__validity_days__isnull=False) & Q(expiry__lte=now)
    rows = (
        CurrentConsent.objects.annotate(
            expiry=ExpressionWrapper(
                F("occurred_at")
                + ExpressionWrapper(
                    F("purpose__validity_days") * Value(datetime.timedelta(days=1)),
                    output_field=fields.DurationField(),
                ),
                output_field=fields.DateTimeField(),
            )
        )
        .values("purpose__slug")
        .annotate(
            withdrawn=Count("pk", filter=Q(action=Action.WITHDRAWN)),
            reconsent_required=Count("pk", filter=granted & stale_version),
            expired=Count("pk", filter=granted & ~stale_version & expired),
            granted=Count("pk", filter=granted & ~stale_version & ~expired),
        )
    )
    by_slug = {row["purpose__slug"]: row for row in rows}
    empty = {"granted": 0, "withdrawn": 0, "expired": 0, "reconsent_required": 0}
    slugs = Purpose.objects.order_by("slug").values_list("slug", flat=True)
    return [{"slug": slug, **{key: by_slug.get(slug, empty)[key] for key in empty}} for slug in slugs]


def daily_activity(days: int = OVERVIEW_DAYS) -> list[dict]:
    """Return grants and withdrawals per day for the last ``days`` days, oldest first, days without events included."""
    today = timezone.now().date()
    since = today - datetime.timedelta(days=days - 1)
    rows = (
        ConsentEvent.objects.filter(occurred_at__date__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "action")
        .annotate(events=Count("pk"))
        .order_by()
    )
    counts = {(row["day"], row["action"]): row["events"] for row in rows}
    return [
        {
            "day": day,
            "granted": counts.get((day, Action.GRANTED), 0),
            "withdrawn": counts.get((day, Action.WITHDRAWN), 0),
        }
        for day in (since + datetime.timedelta(days=offset) for offset in range(days))
    ]


def chart(activity: list[dict], *, width: int = 900, height: int = 240) -> dict:
    """Lay out an SVG bar chart: grants above the middle line, withdrawals below."""
    highest = max([max(day["granted"], day["withdrawn"]) for day in activity] + [1])
    middle = height / 2
    bar_width = max(width / max(len(activity), 1) - 1, 1)
    bars = []
    for index, day in enumerate(activity):
        granted_height = day["granted"] / highest * (middle - 2)
        withdrawn_height = day["withdrawn"] / highest * (middle - 2)
        bars.append(
            {
                **day,
                "x": round(index * (bar_width + 1), 1),
                "granted_y": round(middle - granted_height, 1),
                "granted_height": round(granted_height, 1),
                "withdrawn_y": middle,
                "withdrawn_height": round(withdrawn_height, 1),
            }
        )
    return {"width": width, "height": height, "bar_width": round(bar_width, 1), "bars": bars, "max": highest}

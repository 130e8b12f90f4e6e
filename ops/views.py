"""Probes for load balancers and orchestrators. Neither needs an API key."""
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("Health check: database unreachable", exc_info=True)
        return "error"
    return "ok"


def _redis_status() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    try:
        cache.set("healthz", "1", timeout=10)
        if cache.get("healthz") != "1":
            return "error"
    except Exception:
        logger.warning("Health check: Redis unreachable", exc_info=True)
        return "error"
    return "ok"


@require_GET
def healthz(request):
    """Return the service version and whether PostgreSQL and Redis respond, with 503 if either fails."""
    database = _database_status()
    redis = _redis_status()
    healthy = database == "ok" and redis in ("ok", "not_configured")
    body = {
        "status": "ok" if healthy else "error",
        "version": settings.VERSION,
        "database": database,
        "redis": redis,
    }
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def livez(request):
    """Return 200 while the process can serve; touches no dependency."""
    return JsonResponse({"status": "ok"})

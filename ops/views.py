"""Probes for load balancers and orchestrators, and the Prometheus metrics endpoint."""
import contextvars
import hmac
import ipaddress
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from apikeys.ratelimit import client_ip
from consentvault.errors import problem_body

logger = logging.getLogger(__name__)

# Seconds each dependency check may take. Both run in parallel, so /healthz
# responds within this budget (plus a few milliseconds) even when PostgreSQL or
# Redis hangs or drops packets.
CHECK_BUDGET_SECONDS = 1.5
# Threads per worker process. A check that hangs keeps its thread until the
# driver gives up; while all four are busy, later checks time out and report error.
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("Health check: database unreachable", exc_info=True)
        return "error"
    finally:
        # The check runs in a pool thread; closing keeps no connection parked there.
        connection.close()
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


def _within_budget(futures: dict) -> dict:
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=CHECK_BUDGET_SECONDS)
        except FutureTimeout:
            logger.warning("Health check timed out", extra={"dependency": name, "seconds": CHECK_BUDGET_SECONDS})
            results[name] = "error"
    return results


@require_GET
def healthz(request):
    """Return the service version and whether PostgreSQL and Redis respond, with 503 if either fails."""
    # Each check runs in a copy of this request's context, so its log lines carry the request id.
    results = _within_budget(
        {
            "database": _checks.submit(contextvars.copy_context().run, _database_status),
            "redis": _checks.submit(contextvars.copy_context().run, _redis_status),
        }
    )
    healthy = results["database"] == "ok" and results["redis"] in ("ok", "not_configured")
    body = {
        "status": "ok" if healthy else "error",
        "version": settings.VERSION,
        "database": results["database"],
        "redis": results["redis"],
    }
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def livez(request):
    """Return 200 while the process can serve; touches no dependency."""
    return JsonResponse({"status": "ok"})


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@require_GET
def metrics(request):
    """Serve Prometheus metrics, summed over every gunicorn worker in multiprocess mode.

    With METRICS_TOKEN set, a matching ``Authorization: Bearer`` header is
    required; otherwise only clients in METRICS_ALLOWED_NETWORKS are served.
    """
    if not _metrics_allowed(request):
        status = 401 if settings.METRICS_TOKEN else 403
        detail = (
            "Send the metrics token as Authorization: Bearer <token>."
            if settings.METRICS_TOKEN
            else "Metrics are served only to clients in METRICS_ALLOWED_NETWORKS."
        )
        response = JsonResponse(
            problem_body(status=status, code="metrics_forbidden", detail=detail),
            status=status,
            content_type="application/problem+json",
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

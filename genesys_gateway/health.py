"""Liveness and readiness probes.

Readiness opens a database query and a connection per broker, so its result is computed
at most once per READYZ_CACHE_S in each process (genesys_gateway/ttl_cache.py).
"""

import structlog
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

from genesys_gateway.ttl_cache import TtlCache

logger = structlog.get_logger(__name__)


# The liveness answer never changes: encoded once, not per probe.
_ALIVE = b'{"status": "ok"}'


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_ALIVE, content_type="application/json")


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:  # any driver error means "not ready"
        logger.warning("readiness.database_unreachable", error=str(exc))
        return False


def broker_reachable(url: str, *, transport_options: dict[str, str]) -> bool:
    try:
        with Connection(
            url,
            connect_timeout=settings.BROKER_CHECK_TIMEOUT_S,
            transport_options=transport_options,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.BROKER_CHECK_TIMEOUT_S)
        return True
    except Exception as exc:  # kombu raises many kinds; all mean "not ready"
        logger.warning("readiness.broker_unreachable", error=str(exc))
        return False


def readiness_checks() -> dict[str, bool]:
    """Whether the database and every configured broker answer now."""
    brokers = {
        settings.CELERY_BROKER_URL: settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        settings.EVENTS_BROKER_URL: settings.EVENTS_BROKER_TRANSPORT_OPTIONS,
    }
    return {
        "database": database_reachable(),
        "broker": all(
            broker_reachable(url, transport_options=options) for url, options in brokers.items()
        ),
    }


READINESS = TtlCache(readiness_checks)


def readyz(request: HttpRequest) -> JsonResponse:
    checks = READINESS.get(ttl_s=settings.READYZ_CACHE_S)
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )

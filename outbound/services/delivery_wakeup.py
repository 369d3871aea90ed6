"""Waking a Celery worker when a request is accepted for asynchronous delivery."""

import contextlib
import threading
import time

import structlog
from celery import current_app
from django.conf import settings

logger = structlog.get_logger(__name__)

# The Celery task that runs deliveries_run (outbound/tasks.py), named to avoid an import cycle.
DELIVERIES_RUN_TASK = "outbound.deliveries_run"

_wake_paused_until = 0.0
_wake_local = threading.local()


def deliveries_wake() -> None:
    """Ask a worker to deliver now; the beat sweep covers any wake-up that gets lost.

    Never raises and never holds the request up for long: a short connect timeout, no
    publish retries, and after a failure wake-ups are skipped for
    GENESYS_DELIVERY_WAKE_BREAKER_S.
    """
    global _wake_paused_until  # a per-process circuit breaker, by design
    if not settings.GENESYS_DELIVERY_WAKE_CELERY or time.monotonic() < _wake_paused_until:
        return
    timeout = settings.GENESYS_DELIVERY_WAKE_TIMEOUT_S
    try:
        conn = getattr(_wake_local, "connection", None)
        if conn is None:
            conn = current_app.connection_for_write(connect_timeout=timeout, heartbeat=0)
            _wake_local.connection = conn
        conn.ensure_connection(max_retries=0, timeout=timeout)
        current_app.send_task(
            DELIVERIES_RUN_TASK,
            connection=conn,
            retry=False,
            expires=settings.GENESYS_DELIVERY_SWEEP_S * 4,
        )
    except Exception as exc:  # the broker is down or slow: the sweep will find the rows
        _wake_paused_until = time.monotonic() + settings.GENESYS_DELIVERY_WAKE_BREAKER_S
        stale = getattr(_wake_local, "connection", None)
        _wake_local.connection = None
        if stale is not None:
            with contextlib.suppress(Exception):
                stale.release()
        logger.warning("deliveries_wake_failed", error=repr(exc))

"""Wake a Celery relay worker when an outbox row commits, without ever failing the request.

The task is sent by name, so this module needs nothing from webhooks.tasks (which imports
the relay); `OUTBOX_RELAY_TASK` is the name both sides use.
"""

import contextlib
import threading
import time
from typing import Any, Literal

import structlog
from celery import current_app
from django.conf import settings

from webhooks.outbox.publisher import CONNECTION_ERRORS

logger = structlog.get_logger(__name__)

OUTBOX_RELAY_TASK = "webhooks.outbox_relay"
OUTBOX_PURGE_TASK = "webhooks.outbox_purge"

WakeResult = Literal["sent", "failed", "skipped"]

# Per broker URL: monotonic time until which wake-ups are skipped after a failure.
_wake_breaker: dict[str, float] = {}
_wake_local = threading.local()


def relay_wake() -> WakeResult:
    """Ask a relay worker to publish now. Called on commit of every outbox write.

    Never blocks the webhook for long and never raises: a short connect timeout, no publish
    retries, and after a failure a circuit breaker that skips wake-ups for
    OUTBOX_WAKE_BREAKER_S. A skipped or lost wake-up costs only latency: the beat sweep (or
    the polling `manage.py relay`) publishes the rows anyway.
    """
    if not settings.OUTBOX_WAKE_CELERY:
        return "skipped"
    url = settings.CELERY_BROKER_URL
    if time.monotonic() < _wake_breaker.get(url, 0.0):
        return "skipped"
    connections: dict[str, Any] = _wake_local.__dict__.setdefault("connections", {})
    try:
        conn = connections.get(url)
        if conn is None:
            conn = current_app.connection_for_write(
                url, connect_timeout=settings.OUTBOX_WAKE_TIMEOUT_S, heartbeat=0
            )
            connections[url] = conn
        conn.ensure_connection(max_retries=0, timeout=settings.OUTBOX_WAKE_TIMEOUT_S)
        current_app.send_task(OUTBOX_RELAY_TASK, connection=conn, retry=False, expires=60)
    except Exception as exc:  # any failure: the request already committed, never fail it
        _wake_breaker[url] = time.monotonic() + settings.OUTBOX_WAKE_BREAKER_S
        stale = connections.pop(url, None)
        if stale is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                stale.release()
        logger.warning("relay.wake_failed", error=repr(exc))
        return "failed"
    return "sent"

"""Wake a Celery relay worker when an outbox row commits, never from the request thread.

`relay_wake` (called on commit of every outbox write) only raises a flag and returns:
one daemon thread per process sends the wake-up task. Commits that arrive while it sends
coalesce into one more wake-up, so a burst of webhooks costs a handful of messages. Its
connection has connect, read and write timeouts, and after a failure a circuit breaker
skips sends for OUTBOX_WAKE_BREAKER_S, after which the thread sends the failed wake-up
again. A broker that stops reading (a memory or disk alarm, a paused process, lost
packets) can hold that thread for a few seconds at most and never a webhook. A lost
wake-up costs only latency: the beat sweep (or the polling `manage.py relay`) publishes
the rows anyway.

The task is sent by name, so this module needs nothing from webhooks.tasks (which imports
the relay); `OUTBOX_RELAY_TASK` is the name both sides use.
"""

import contextlib
import os
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


def relay_wake() -> Literal["queued", "skipped"]:
    """Ask a relay worker to publish soon; returns at once. Called on commit of every
    outbox write, on the request thread, which must never wait on the broker."""
    if not settings.OUTBOX_WAKE_CELERY:
        return "skipped"
    _waker.request()
    return "queued"


def relay_wake_send() -> WakeResult:
    """Send one wake-up task now (the wake-up thread's work). Never raises.

    Bounded in time: connect, read and write timeouts of OUTBOX_WAKE_TIMEOUT_S, no publish
    retries, and after a failure a breaker that skips sends for OUTBOX_WAKE_BREAKER_S.
    """
    if not settings.OUTBOX_WAKE_CELERY:
        return "skipped"
    url = settings.CELERY_BROKER_URL
    if time.monotonic() < _wake_breaker.get(url, 0.0):
        return "skipped"
    connections: dict[str, Any] = _wake_local.__dict__.setdefault("connections", {})
    timeout = settings.OUTBOX_WAKE_TIMEOUT_S
    try:
        conn = connections.get(url)
        if conn is None:
            conn = current_app.connection_for_write(
                url,
                connect_timeout=timeout,
                heartbeat=0,
                # py-amqp socket timeouts: a broker that accepts but stops reading or
                # answering fails the send instead of holding the thread.
                transport_options={"read_timeout": timeout, "write_timeout": timeout},
            )
            connections[url] = conn
        conn.ensure_connection(max_retries=0, timeout=timeout)
        current_app.send_task(OUTBOX_RELAY_TASK, connection=conn, retry=False, expires=60)
    except Exception as exc:  # any failure: the rows are committed, the sweep finds them
        _wake_breaker[url] = time.monotonic() + settings.OUTBOX_WAKE_BREAKER_S
        stale = connections.pop(url, None)
        if stale is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                stale.release()
        logger.warning("relay.wake_failed", error=repr(exc))
        return "failed"
    return "sent"


class _Waker:
    """The per-process wake-up thread and its one-slot, coalescing queue (a flag)."""

    def __init__(self) -> None:
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        thread = self._thread
        # A forked child (a gunicorn or Celery worker) has the flag but not the thread.
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            self._start()
        self._wanted.set()

    def _start(self) -> None:
        with self._lock:
            thread = self._thread
            if thread is not None and self._pid == os.getpid() and thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="relay-wake", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                result = relay_wake_send()
            except Exception:  # never let the thread die; the next wake-up tries again
                logger.exception("relay.wake_thread_error")
                result = "failed"
            if result == "failed":
                # The rows behind this wake-up are committed and still unpublished: wait
                # out the breaker and send again, rather than leave them to the sweep
                # (up to OUTBOX_SWEEP_INTERVAL_S later) or to the next commit.
                time.sleep(settings.OUTBOX_WAKE_BREAKER_S)
                self._wanted.set()


_waker = _Waker()

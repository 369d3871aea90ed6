"""Where the relay runs: the foreground `manage.py relay` loop, and Celery workers' passes.

A Celery worker keeps one publisher per process (created after fork, so prefork children
never share a socket); the foreground loop owns its publisher and services its connection
while idle, so the broker never drops it.
"""

import os
import signal
import threading
import time

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from webhooks.outbox.publisher import BrokerUnavailable, Publisher, outbox_publisher_create
from webhooks.outbox.relay import relay_drain

logger = structlog.get_logger(__name__)

_process_publisher: tuple[int, Publisher] | None = None


def _publisher_for_process() -> Publisher:
    """The process's publisher, created after fork so prefork children never share a socket."""
    global _process_publisher
    if _process_publisher is None or _process_publisher[0] != os.getpid():
        _process_publisher = (os.getpid(), outbox_publisher_create())
    return _process_publisher[1]


def outbox_relay_pending() -> int:
    """Run one drain pass with this process's publisher; a down broker is not an error.

    The wake-up and the beat sweep both end here. Rows left pending are picked up by the
    next wake-up or sweep; the publisher's reconnect back-off keeps those cheap.
    """
    publisher = _publisher_for_process()
    try:
        return relay_drain(publisher=publisher)
    except BrokerUnavailable as exc:
        logger.info("relay.pass_deferred", reason=str(exc))
        return 0


def relay_run(*, stop: threading.Event, poll_interval: float | None = None) -> None:
    """Drain, then wait for new rows by polling, until `stop` is set. Never gives up.

    Polling is one cheap index query per interval. While waiting, the publisher services
    its connection (reads frames, sends heartbeats), so the broker never drops an idle
    relay and the next batch does not pay a reconnect.
    """
    interval = poll_interval if poll_interval is not None else settings.OUTBOX_RELAY_POLL_S
    publisher = outbox_publisher_create()
    logger.info("relay.started", exchange=settings.EVENTS_EXCHANGE, poll_interval_s=interval)
    try:
        while not stop.is_set():
            try:
                relay_drain(publisher=publisher, stop=stop)
                wait = interval
            except BrokerUnavailable as exc:
                wait = max(interval, publisher.retry_in)
                logger.info("relay.waiting_for_broker", reason=str(exc), retry_in_s=wait)
            except DatabaseError as exc:
                logger.warning("relay.database_error", error=repr(exc))
                close_old_connections()
                connection.close()
                wait = max(interval, 1.0)
            except Exception:
                # A foreground daemon must outlive surprises; log loudly, start afresh.
                logger.exception("relay.unexpected_error")
                publisher.close()
                connection.close()
                wait = max(interval, 5.0)
            _idle(publisher=publisher, stop=stop, seconds=wait)
    finally:
        publisher.close(graceful=True)
        logger.info("relay.stopped")


def _idle(*, publisher: Publisher, stop: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        # Short slices so SIGTERM is honoured quickly.
        publisher.service(timeout=min(remaining, 0.5))


def relay_stop_on_signals(*, stop: threading.Event) -> None:
    """Make SIGTERM and SIGINT finish the current batch and return from relay_run."""

    def handle(signum: int, frame: object) -> None:
        logger.info("relay.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)

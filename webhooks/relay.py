"""The outbox relay: publishes pending outbox rows to RabbitMQ, in order, losing nothing.

How a pass works (`relay_publish_batch`), all in one database transaction:
1. Claim: lock the *head* of each ordering key, i.e. its oldest pending row, for up to
   OUTBOX_RELAY_BATCH_SIZE keys, with `FOR UPDATE SKIP LOCKED` (`_CLAIM_SQL`).
2. Publish the claimed rows as one batch and wait once for the broker's confirms.
3. Mark confirmed rows published; charge rejected/returned rows one attempt (dead after
   OUTBOX_MAX_ATTEMPTS); leave rows the broker never settled pending. Commit.

Ordering. Only the head of a key is ever claimable, and it stays locked until its outcome
is committed, so a key has at most one row in flight across all workers: the next row
becomes the head only after the previous one was confirmed (or died). Several workers
share the load because SKIP LOCKED hands each of them different keys; a key whose head is
locked, or waiting for its back-off (`next_attempt_at` in the future), blocks only itself.
A dead row is no longer pending, so it stops blocking its key; if it is replayed later it
is published after the rows that overtook it.

Ids come from a sequence at INSERT, so two transactions writing to one key at the same
moment may commit out of id order; the relay then publishes in commit order, which is the
order the webhooks were acknowledged in.

Failures. An unreachable broker (connect fails, connection drops, no confirm in time) rolls
nothing forward and spends no attempt; the rows are simply claimed again once the publisher
has reconnected (its reconnect delay is capped exponential). A crash after the broker
confirmed but before the commit republishes the row: consumers see a duplicate with the
same message id (at-least-once).
"""

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks import relay_metrics
from webhooks.models import OutboxMessage
from webhooks.publisher import (
    CONNECTION_ERRORS,
    BrokerUnavailable,
    OutgoingEvent,
    Publisher,
    publisher_create,
)

logger = structlog.get_logger(__name__)

# The heads of all ordering keys (MIN(id) over the partial index of pending rows), of
# which we lock the oldest that are due. The outer status test is re-checked by PostgreSQL
# on the locked row version, so a head another worker just published is dropped, never
# double-published; rows behind a head are never selected, which is what keeps the order.
_CLAIM_SQL = """
SELECT o.id, o.event_id, o.routing_key, {body}, o.created_at, t.slug
FROM webhooks_outboxmessage o
JOIN tenants_tenant t ON t.id = o.tenant_id
WHERE o.id IN (
    SELECT MIN(id) FROM webhooks_outboxmessage WHERE status = 'pending' GROUP BY ordering_key
)
AND o.status = 'pending'
AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= %s)
ORDER BY o.id
LIMIT %s
{lock}
"""
# SQLite (the `make run` default) has neither row locks nor jsonb: there the claim is the
# same query without the lock, which is safe for the single relay a development setup runs.
_CLAIM_SQL_BY_VENDOR = {
    "postgresql": _CLAIM_SQL.format(body="o.cloud_event::text", lock="FOR UPDATE OF o SKIP LOCKED"),
    "sqlite": _CLAIM_SQL.format(body="o.cloud_event", lock=""),
}


@dataclass(frozen=True)
class ClaimedRow:
    event: OutgoingEvent
    created_at: datetime


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    published: int
    failed: int


def outbox_publisher_create() -> Publisher:
    """A publisher configured from settings (EVENTS_BROKER_URL, EVENTS_EXCHANGE, OUTBOX_*)."""
    return publisher_create(
        url=settings.EVENTS_BROKER_URL,
        exchange=settings.EVENTS_EXCHANGE,
        # Set by the settings for kombu's filesystem transport (`make run`); absent otherwise.
        transport_options=settings.EVENTS_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=settings.OUTBOX_RELAY_CONNECT_TIMEOUT_S,
        confirm_timeout=settings.OUTBOX_RELAY_CONFIRM_TIMEOUT_S,
        heartbeat=settings.OUTBOX_RELAY_HEARTBEAT_S,
        reconnect_max=settings.OUTBOX_RELAY_RECONNECT_MAX_S,
    )


def _claim(*, limit: int) -> list[ClaimedRow]:
    with connection.cursor() as cursor:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        cursor.execute(_CLAIM_SQL_BY_VENDOR[connection.vendor], [now, limit])
        rows = cursor.fetchall()
    return [
        ClaimedRow(
            event=OutgoingEvent(
                key=row_id,
                event_id=event_id,
                tenant=slug,
                routing_key=routing_key,
                body=body.encode(),
            ),
            # SQLite hands raw datetimes back naive (in UTC); PostgreSQL aware.
            created_at=created_at
            if timezone.is_aware(created_at)
            else timezone.make_aware(created_at, UTC),
        )
        for row_id, event_id, routing_key, body, created_at, slug in rows
    ]


def outbox_retry_delay(*, attempts: int) -> timedelta:
    """Capped exponential back-off after `attempts` broker rejections."""
    base = settings.OUTBOX_RETRY_BASE_S
    return timedelta(seconds=min(settings.OUTBOX_RETRY_MAX_S, base * 2 ** max(0, attempts - 1)))


def _record_rejections(*, rejected: dict[int, str], now: datetime) -> int:
    dead = 0
    for row in OutboxMessage.objects.filter(id__in=rejected, status=OutboxMessage.Status.PENDING):
        row.attempts += 1
        row.last_error = rejected[row.id][:2000]
        if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            row.status = OutboxMessage.Status.DEAD
            row.next_attempt_at = None
            dead += 1
            logger.error(
                "relay.dead_lettered", outbox_id=row.id, event_id=row.event_id, error=row.last_error
            )
        else:
            row.next_attempt_at = now + outbox_retry_delay(attempts=row.attempts)
            logger.warning(
                "relay.rejected", outbox_id=row.id, attempts=row.attempts, error=row.last_error
            )
        row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
    return dead


def relay_publish_batch(*, publisher: Publisher, batch_size: int | None = None) -> BatchResult:
    """Claim up to one batch of due rows (one per ordering key), publish, record outcomes.

    Raises BrokerUnavailable when the broker could not take the batch; the rows it settled
    before that are committed, the others stay pending with their budget untouched.
    """
    limit = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
    with transaction.atomic():
        claimed = _claim(limit=limit)
        if not claimed:
            return BatchResult(claimed=0, published=0, failed=0)
        # Connect only now: an idle relay never touches the broker.
        outcome = publisher.publish_batch([row.event for row in claimed])
        now = timezone.now()
        if outcome.confirmed:
            OutboxMessage.objects.filter(
                id__in=outcome.confirmed, status=OutboxMessage.Status.PENDING
            ).update(status=OutboxMessage.Status.PUBLISHED, published_at=now, last_error="")
        dead = _record_rejections(rejected=outcome.rejected, now=now) if outcome.rejected else 0
    # Counted only once committed, so a failed commit does not inflate them.
    confirmed = set(outcome.confirmed)
    for row in claimed:
        if row.event.key in confirmed:
            relay_metrics.PUBLISH_LATENCY.observe((now - row.created_at).total_seconds())
    relay_metrics.PUBLISHED.inc(len(confirmed))
    relay_metrics.PUBLISH_FAILURES.inc(len(outcome.rejected))
    relay_metrics.DEAD_LETTERED.inc(dead)
    if outcome.error is not None:
        raise outcome.error
    return BatchResult(
        claimed=len(claimed), published=len(outcome.confirmed), failed=len(outcome.rejected)
    )


def relay_drain(
    *,
    publisher: Publisher,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Publish batches until no row is claimable (or time/stop says so); return how many.

    Raises BrokerUnavailable, like relay_publish_batch.
    """
    deadline = time.monotonic() + (max_seconds or settings.OUTBOX_RELAY_PASS_MAX_S)
    published = 0
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        result = relay_publish_batch(publisher=publisher)
        published += result.published
        if result.claimed == 0:
            break
    if published:
        logger.info("relay.drained", published=published)
    return published


# --- Celery workers: one cached publisher per process -----------------------------------

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


# --- the foreground loop (`manage.py relay`) -------------------------------------------


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


# --- wake-ups from the webhook side ------------------------------------------------------

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
    from webhooks.tasks import outbox_relay_task

    if not settings.OUTBOX_WAKE_CELERY:
        return "skipped"
    url = settings.CELERY_BROKER_URL
    if time.monotonic() < _wake_breaker.get(url, 0.0):
        return "skipped"
    connections: dict[str, Any] = _wake_local.__dict__.setdefault("connections", {})
    try:
        conn = connections.get(url)
        if conn is None:
            conn = outbox_relay_task.app.connection_for_write(
                url, connect_timeout=settings.OUTBOX_WAKE_TIMEOUT_S, heartbeat=0
            )
            connections[url] = conn
        conn.ensure_connection(max_retries=0, timeout=settings.OUTBOX_WAKE_TIMEOUT_S)
        outbox_relay_task.apply_async(connection=conn, retry=False, expires=60)
    except Exception as exc:  # any failure: the request already committed, never fail it
        _wake_breaker[url] = time.monotonic() + settings.OUTBOX_WAKE_BREAKER_S
        stale = connections.pop(url, None)
        if stale is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                stale.release()
        logger.warning("relay.wake_failed", error=repr(exc))
        return "failed"
    return "sent"


# --- dead letters and retention ---------------------------------------------------------


def outbox_replay(
    *, tenant_slug: str | None = None, since: datetime | None = None, ids: list[int] | None = None
) -> int:
    """Set dead rows back to pending with a fresh budget; return how many. Wakes the relay."""
    rows = OutboxMessage.objects.filter(status=OutboxMessage.Status.DEAD)
    if tenant_slug is not None:
        rows = rows.filter(tenant__slug=tenant_slug)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if ids is not None:
        rows = rows.filter(id__in=ids)
    with transaction.atomic():
        count = rows.update(status=OutboxMessage.Status.PENDING, attempts=0, next_attempt_at=None)
        if count:
            transaction.on_commit(relay_wake)
    logger.info("relay.replayed", count=count, tenant=tenant_slug)
    return count


def outbox_purge(*, older_than: timedelta | None = None, batch_size: int = 1000) -> int:
    """Delete published and ignored rows older than the retention period, in small batches.

    Small batches keep each delete's locks short next to the webhook inserts.
    """
    age = older_than if older_than is not None else timedelta(hours=settings.OUTBOX_RETENTION_HOURS)
    cutoff = timezone.now() - age
    old = OutboxMessage.objects.filter(
        Q(status=OutboxMessage.Status.PUBLISHED, published_at__lt=cutoff)
        | Q(status=OutboxMessage.Status.IGNORED, created_at__lt=cutoff)
    )
    deleted = 0
    while True:
        ids = list(old.values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        deleted += OutboxMessage.objects.filter(id__in=ids).delete()[0]
    logger.info("relay.purged", count=deleted)
    return deleted

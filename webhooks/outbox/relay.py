"""The outbox relay: publishes pending outbox rows to RabbitMQ, in order, losing nothing.

How a batch works (`relay_publish_batch`), all in one database transaction:
1. Claim (webhooks.outbox.claim): hold a few ordering keys and take their oldest pending
   rows, up to OUTBOX_RELAY_BATCH_SIZE, in id order.
2. Publish the rows as one batch and wait once for the broker's confirms. While the
   broker works on the batch, mark all of it published inside a savepoint, so the UPDATE
   costs no time of its own in the usual case.
3. Every row confirmed: keep that mark. Otherwise roll the savepoint back, then mark the
   confirmed rows published, charge rejected rows one attempt (dead after
   OUTBOX_MAX_ATTEMPTS) and leave rows the broker never settled pending. Commit, which
   releases the keys; nothing is committed before its confirm.

Ordering. A key is held by one relay at a time, from its claim to the commit of the
outcome, so one conversation's events never race each other across relays. A rejected
row waits for its back-off and holds back the rest of its key (`_record_rejections`
stamps them with the same time). A dead row stops blocking; if it is replayed later it is
published after the rows that overtook it.

Failures. An unreachable broker (connect fails, connection drops, no confirm in time) rolls
nothing forward and spends no attempt; the rows are simply claimed again once the publisher
has reconnected (its reconnect delay is capped exponential). A crash after the broker
confirmed but before the commit republishes the row: consumers see a duplicate with the
same message id (at-least-once). See docs/relay.md.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from genesys_gateway.backoff import backoff_capped
from webhooks.models import OutboxMessage
from webhooks.outbox import metrics
from webhooks.outbox.attachments import outbox_attachments_prepare
from webhooks.outbox.claim import outbox_claim
from webhooks.outbox.publisher import Publisher

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    published: int
    failed: int


def outbox_retry_delay(*, attempts: int) -> timedelta:
    """Capped exponential back-off after `attempts` broker rejections."""
    return timedelta(
        seconds=backoff_capped(
            attempts, base=settings.OUTBOX_RETRY_BASE_S, cap=settings.OUTBOX_RETRY_MAX_S
        )
    )


def _mark_published(*, ids: list[int], now: datetime) -> None:
    OutboxMessage.objects.filter(id__in=ids, status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.PUBLISHED, published_at=now, last_error=""
    )


def _record_rejections(*, rejected: dict[int, str], now: datetime) -> int:
    dead = 0
    rows = OutboxMessage.objects.filter(id__in=rejected, status=OutboxMessage.Status.PENDING)
    for row in rows.order_by("id"):
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
            _hold_back_key(row=row)
        row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
    return dead


def _hold_back_key(*, row: OutboxMessage) -> None:
    """Give the later pending rows of the row's key its retry time too.

    The claim would hold them back anyway (order); stamped, they also drop out of the
    claim's window of due rows, so a waiting conversation costs other keys nothing.
    """
    OutboxMessage.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=row.next_attempt_at),
        ordering_key=row.ordering_key,
        status=OutboxMessage.Status.PENDING,
        id__gt=row.id,
    ).update(next_attempt_at=row.next_attempt_at)


def _copy_retry_later(row: OutboxMessage) -> None:
    """An attachment copy to try again: back off like a rejection, and hold the key."""
    row.next_attempt_at = timezone.now() + outbox_retry_delay(attempts=row.copy_attempts)
    _hold_back_key(row=row)


def relay_publish_batch(*, publisher: Publisher, batch_size: int | None = None) -> BatchResult:
    """Claim up to one batch of due rows (a few keys, in id order), publish, record outcomes.

    Raises BrokerUnavailable when the broker could not take the batch; the rows it settled
    before that are committed, the others stay pending with their budget untouched.
    """
    limit = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
    with transaction.atomic():
        claimed = outbox_claim(limit=limit)
        if not claimed:
            return BatchResult(claimed=0, published=0, failed=0)
        # Agents' files are copied while the keys are held; a copy to retry holds its key
        # back (counted as claimed, so a drain goes on with the other keys).
        held = len(claimed)
        claimed = outbox_attachments_prepare(rows=claimed, defer=_copy_retry_later)
        if not claimed:
            return BatchResult(claimed=held, published=0, failed=0)
        ids = [row.event.key for row in claimed]
        early: list[str] = []  # the savepoint of the early mark, once made

        def mark_early() -> None:
            # While the broker stores the batch, mark all of it published in a savepoint;
            # kept only if every row is confirmed. Nothing commits before the confirms.
            early.append(transaction.savepoint())
            _mark_published(ids=ids, now=timezone.now())

        # Connect only now: an idle relay never touches the broker.
        outcome = publisher.publish_batch([row.event for row in claimed], while_waiting=mark_early)
        now = timezone.now()
        everything = len(outcome.confirmed) == len(ids) and outcome.error is None
        if early and not everything:
            transaction.savepoint_rollback(early[0])
        if outcome.confirmed and not (early and everything):
            _mark_published(ids=outcome.confirmed, now=now)
        dead = _record_rejections(rejected=outcome.rejected, now=now) if outcome.rejected else 0
    # Counted only once committed, so a failed commit does not inflate them.
    confirmed = set(outcome.confirmed)
    for row in claimed:
        if row.event.key in confirmed:
            metrics.PUBLISH_LATENCY.observe((now - row.created_at).total_seconds())
    metrics.PUBLISHED.inc(len(confirmed))
    metrics.PUBLISH_FAILURES.inc(len(outcome.rejected))
    metrics.DEAD_LETTERED.inc(dead)
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

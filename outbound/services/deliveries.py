"""Asynchronous delivery (`Prefer: respond-async`): accept durably, deliver from Celery.

A request is validated, stored as an OutboundDelivery in one INSERT and answered 202.
Workers claim due rows, at most the oldest unfinished row of each customer (so a
customer's second message never overtakes the first), and send them with the same
functions as the synchronous path, so both modes share one idempotency claim per wamid.
Transient failures (429, 5xx, time-outs, connection errors) go back to the queue with
Genesys' Retry-After or a capped backoff until GENESYS_DELIVERY_MAX_AGE_S; anything else
fails the row. Every outcome is recorded in the same transaction as the state change.
docs/api.md describes the behaviour for clients.
"""

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from genesys_gateway.backoff import backoff_capped
from genesys_gateway.problems import ProblemError
from genesys_gateway.sql import insert_once
from outbound.errors import DeliveryInProgress
from outbound.genesys import (
    GenesysClient,
    GenesysError,
    GenesysRateLimitedError,
    GenesysTransientError,
    RetryPolicy,
)
from outbound.genesys.exceptions import GenesysBadAnswerError
from outbound.models import (
    OutboundDelivery,
    QueuedKind,
    QueuedState,
)
from outbound.services.access import genesys_client
from outbound.services.delivery_events import delivery_outcome_record
from outbound.services.delivery_state import delivery_client_id
from outbound.services.delivery_wakeup import deliveries_wake
from outbound.services.messages import message_send, receipt_send, typing_send
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

# How long a worker may wait for the tenant's rate limit before handing the row back.
_RATE_LIMIT_WAIT_S = 1.0


@dataclass(frozen=True)
class Accepted:
    delivery: OutboundDelivery
    created: bool


def delivery_enqueue(
    *, tenant: Tenant, kind: str, key: str, customer_key: str, payload: dict[str, Any]
) -> Accepted:
    """Store a request for delivery; a repeat of (tenant, kind, key) returns the first row.

    One INSERT ... ON CONFLICT DO NOTHING (its own transaction), then the workers are woken.
    """
    now = timezone.now()
    delivery = OutboundDelivery(
        tenant=tenant,
        kind=kind,
        key=key,
        customer_key=customer_key,
        payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
        state=QueuedState.QUEUED,
        attempts=0,
        next_attempt_at=now,
        give_up_at=now + timedelta(seconds=settings.GENESYS_DELIVERY_MAX_AGE_S),
        created_at=now,
    )
    if insert_once(delivery) is None:
        existing = OutboundDelivery.objects.get(tenant=tenant, kind=kind, key=key)
        return Accepted(existing, created=False)
    transaction.on_commit(deliveries_wake)
    return Accepted(delivery, created=True)


# --- Claiming ----------------------------------------------------------------------------

_CLAIM_SQL = """
SELECT d.id FROM outbound_outbounddelivery d
WHERE d.state IN ('queued', 'sending')
  AND ((d.state = 'queued' AND d.next_attempt_at <= %(now)s)
       OR (d.state = 'sending' AND d.claimed_at < %(stale)s))
  AND NOT EXISTS (
    SELECT 1 FROM outbound_outbounddelivery e
    WHERE e.customer_key = d.customer_key AND e.state IN ('queued', 'sending') AND e.id < d.id
  )
ORDER BY d.next_attempt_at
LIMIT %(limit)s
"""


def deliveries_claim(*, limit: int) -> list[OutboundDelivery]:
    """Claim up to `limit` due rows, each the head of its customer's queue.

    A `sending` row whose lease (GENESYS_DELIVERY_LEASE_S) ran out belongs to a worker that
    died; it is claimed again. SKIP LOCKED lets workers claim side by side.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.GENESYS_DELIVERY_LEASE_S)
    sql = _CLAIM_SQL
    if connection.vendor == "postgresql":
        sql += " FOR UPDATE OF d SKIP LOCKED"
    token = uuid.uuid4()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, {"now": now, "stale": stale, "limit": limit})
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        OutboundDelivery.objects.filter(id__in=ids).update(
            state=QueuedState.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1
        )
    rows = list(OutboundDelivery.objects.select_related("tenant").filter(id__in=ids).order_by("id"))
    return rows


# --- Delivering --------------------------------------------------------------------------


def _worker_client(tenant: Tenant) -> GenesysClient:
    """One attempt per claim: retries belong to the queue, where they survive restarts."""
    policy = RetryPolicy.from_settings(
        max_attempts=1, budget_s=settings.GENESYS_TIMEOUT_S + _RATE_LIMIT_WAIT_S + 1
    )
    return genesys_client(tenant=tenant, policy=policy, rate_limit_max_wait_s=_RATE_LIMIT_WAIT_S)


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _send(delivery: OutboundDelivery, genesys: GenesysClient) -> dict[str, Any]:
    """Replay the stored request through the synchronous path's send function."""
    fields = dict(delivery.payload)
    tenant = delivery.tenant
    if delivery.kind == QueuedKind.MESSAGE:
        fields["timestamp"] = _timestamp(fields.get("timestamp"))
        result, _ = message_send(tenant=tenant, genesys=genesys, claim_wait_s=0, **fields)
        return result
    if delivery.kind == QueuedKind.RECEIPT:
        fields["timestamp"] = _timestamp(fields.get("timestamp"))
        return receipt_send(tenant=tenant, genesys=genesys, claim_wait_s=0, **fields)
    return typing_send(tenant=tenant, genesys=genesys, **fields)


def delivery_attempt(*, delivery: OutboundDelivery) -> str:
    """Send one claimed row; record the outcome. Returns the row's new state."""
    structlog.contextvars.bind_contextvars(tenant=delivery.tenant.slug)
    try:
        result = _send(delivery, _worker_client(delivery.tenant))
    except (GenesysTransientError, GenesysBadAnswerError) as exc:
        if exc.safe_to_repeat is False:
            # Not safe to send again (a structured response may drive a bot twice) and
            # Genesys may have processed it: the platform decides, with what we know.
            return _fail(delivery, status=_status_of(exc), detail=f"outcome unknown: {exc}")
        return _retry_transient(delivery, exc)
    except DeliveryInProgress:
        # A synchronous request holds this wamid's claim right now; its result is ours.
        return _retry_later(delivery, error=None, delay_s=1.0, counted=False)
    except (GenesysError, ProblemError) as exc:
        return _fail(delivery, status=_status_of(exc), detail=_detail_of(exc))
    except Exception as exc:  # our own fault (database, a bug): keep the row, retry later
        logger.exception("delivery_attempt_crashed", delivery_id=delivery.pk)
        return _retry_later(delivery, error=exc, delay_s=_delay_s(delivery, None), counted=True)
    return _succeed(delivery, result)


def _retry_transient(delivery: OutboundDelivery, exc: GenesysError) -> str:
    """429, 5xx, time-outs, connection errors, broken answers: the queue tries again.

    A resend after an unknown outcome carries the same channel.messageId (docs/api.md,
    "Sends that never double").
    """
    return _retry_later(
        delivery,
        error=exc,
        delay_s=_delay_s(delivery, exc),
        # Waiting for a rate limit is no failed attempt.
        counted=not isinstance(exc, GenesysRateLimitedError),
    )


def _status_of(exc: Exception) -> int:
    if isinstance(exc, GenesysError):
        return exc.genesys_status or 502
    return int(getattr(exc, "status", 400))


def _detail_of(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or getattr(exc, "detail", None) or exc)


def _delay_s(delivery: OutboundDelivery, exc: GenesysError | None) -> float:
    if exc is not None and exc.retry_after is not None:
        return float(max(1, exc.retry_after))
    return backoff_capped(
        max(1, delivery.attempts),
        base=settings.GENESYS_BACKOFF_BASE_S,
        cap=settings.GENESYS_DELIVERY_BACKOFF_MAX_S,
    )


def _owned(delivery: OutboundDelivery) -> Any:
    """The row while this worker still holds its claim (compared in every UPDATE)."""
    return OutboundDelivery.objects.filter(
        pk=delivery.pk, state=QueuedState.SENDING, claim_token=delivery.claim_token
    )


def _retry_later(
    delivery: OutboundDelivery, *, error: Exception | None, delay_s: float, counted: bool
) -> str:
    now = timezone.now()
    if error is not None and now + timedelta(seconds=delay_s) > delivery.give_up_at:
        status = error.genesys_status if isinstance(error, GenesysError) else None
        return _fail(delivery, status=status or 503, detail=f"gave up: {_detail_of(error)}")
    changes: dict[str, Any] = {
        "state": QueuedState.QUEUED,
        "next_attempt_at": now + timedelta(seconds=delay_s),
        "claim_token": None,
    }
    if error is not None:
        changes["last_error"] = _detail_of(error)[:2000]
        changes["last_status"] = error.genesys_status if isinstance(error, GenesysError) else None
    if not counted:
        changes["attempts"] = F("attempts") - 1
    _owned(delivery).update(**changes)
    logger.info(
        "delivery_retry_later", delivery_id=delivery.pk, delay_s=round(delay_s, 2), error=str(error)
    )
    return QueuedState.QUEUED


def _succeed(delivery: OutboundDelivery, result: dict[str, Any]) -> str:
    genesys_message_id = str(result.get("genesys_message_id") or "")
    conversation_id = str(result.get("conversation_id") or "")
    with transaction.atomic():
        updated = _owned(delivery).update(
            state=QueuedState.DELIVERED,
            finished_at=timezone.now(),
            genesys_message_id=genesys_message_id,
            conversation_id=conversation_id,
            claim_token=None,
            last_error="",
        )
        if updated:
            delivery_outcome_record(
                delivery=delivery,
                event_type="delivery.succeeded",
                subject=conversation_id,
                data={
                    "message_id": delivery_client_id(delivery),
                    "genesys_message_id": genesys_message_id or None,
                    "conversation_id": conversation_id or None,
                },
            )
    return QueuedState.DELIVERED


def _fail(delivery: OutboundDelivery, *, status: int, detail: str) -> str:
    with transaction.atomic():
        updated = _owned(delivery).update(
            state=QueuedState.FAILED,
            finished_at=timezone.now(),
            last_status=status,
            last_error=detail[:2000],
            claim_token=None,
        )
        if updated:
            delivery_outcome_record(
                delivery=delivery,
                event_type="delivery.failed",
                subject="",
                data={
                    "message_id": delivery_client_id(delivery),
                    "status": status,
                    "detail": detail,
                },
            )
    logger.warning("delivery_failed", delivery_id=delivery.pk, status=status, detail=detail)
    return QueuedState.FAILED


def deliveries_run(
    *, max_s: float, batch: int = 10, monotonic: Callable[[], float] = time.monotonic
) -> int:
    """Claim and deliver due rows until none is due or `max_s` has passed; return how many."""
    deadline = monotonic() + max_s
    handled = 0
    while monotonic() < deadline:
        claimed = deliveries_claim(limit=batch)
        if not claimed:
            break
        for delivery in claimed:
            # The batch was claimed at once; a row's lease starts when its turn comes, and
            # one taken over meanwhile (this pass was slow) is left to its new owner.
            if not _owned(delivery).update(claimed_at=timezone.now()):
                continue
            delivery_attempt(delivery=delivery)
            handled += 1
    return handled

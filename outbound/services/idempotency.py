"""At-most-once calls to Genesys, keyed by a unique constraint rather than a check.

The row's INSERT is the claim: the request whose INSERT wins calls Genesys; repeats find
the row, and either read the winner's result or wait (briefly polling) until it has one.
Transactions stay short, so no database lock is held while Genesys is called.
"""

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from outbound.errors import DeliveryInProgress
from outbound.models import DeliveryState, InboundMessage, InboundReceipt

Delivery = TypeVar("Delivery", InboundMessage, InboundReceipt)


def delivery_claim(
    *,
    model: type[Delivery],
    lookup: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[Delivery, bool]:
    """(row, True) when this request must call Genesys; (row, False) when it was done."""
    deadline = monotonic() + settings.GENESYS_IDEMPOTENCY_WAIT_S
    # A claim older than any call could take belongs to a process that died mid-call.
    stale_after = timedelta(
        seconds=settings.GENESYS_RETRY_BUDGET_S + 2 * settings.GENESYS_TIMEOUT_S
    )
    poll_s = 0.02
    while True:
        now = timezone.now()
        row, created = model._default_manager.get_or_create(
            **lookup,
            defaults={**(defaults or {}), "state": DeliveryState.PENDING, "claimed_at": now},
        )
        if created:
            return row, True
        if row.state == DeliveryState.SENT:
            return row, False
        if row.claimed_at < now - stale_after:
            taken = model._default_manager.filter(
                pk=row.pk, state=DeliveryState.PENDING, claimed_at=row.claimed_at
            ).update(claimed_at=now)
            if taken:
                row.claimed_at = now
                return row, True
            continue
        if monotonic() >= deadline:
            raise DeliveryInProgress(
                "An identical request is still waiting for Genesys; retry shortly.",
                headers={"Retry-After": str(settings.GENESYS_DEFAULT_RETRY_AFTER_S)},
            )
        sleep(poll_s)
        poll_s = min(poll_s * 2, 0.25)


def delivery_complete(*, row: Delivery, **fields: Any) -> None:
    """Record the Genesys result; repeats of the request now answer with it."""
    now = timezone.now()
    model = type(row)
    model._default_manager.filter(pk=row.pk).update(state=DeliveryState.SENT, sent_at=now, **fields)
    for name, value in fields.items():
        setattr(row, name, value)
    row.state, row.sent_at = DeliveryState.SENT, now


def delivery_release(*, row: Delivery) -> None:
    """Forget a claim whose Genesys call failed, so the same request may be retried."""
    type(row)._default_manager.filter(pk=row.pk, state=DeliveryState.PENDING).delete()


def deliveries_purge(*, older_than: timedelta) -> int:
    """Delete sent messages and receipts older than `older_than`; return how many.

    Their rows only guard against repeats, and WhatsApp stops redelivering after days,
    so old ones are dead weight. Pending claims are left to their owners.
    """
    cutoff = timezone.now() - older_than
    deleted = 0
    for model in (InboundMessage, InboundReceipt):
        count, _ = model._default_manager.filter(
            state=DeliveryState.SENT, sent_at__lt=cutoff
        ).delete()
        deleted += count
    return deleted

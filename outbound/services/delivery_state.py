"""The delivery state of a customer message, and putting failed deliveries back in line."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outbound.models import DeliveryState, InboundMessage, OutboundDelivery, QueuedKind, QueuedState
from outbound.services.delivery_wakeup import deliveries_wake
from tenants.models import Tenant


def delivery_client_id(delivery: OutboundDelivery) -> str:
    """The id the client knows the request by (the wamid, the receipt's message id)."""
    return str(delivery.payload.get("message_id") or delivery.key)


def message_state(*, tenant: Tenant, message_id: str) -> dict[str, Any] | None:
    """A customer message's delivery state by wamid, whichever mode sent it; None if unknown."""
    queued = OutboundDelivery.objects.filter(
        tenant=tenant, kind=QueuedKind.MESSAGE, key=message_id
    ).first()
    if queued is not None:
        return delivery_state_body(queued)
    sent = InboundMessage.objects.filter(tenant=tenant, message_id=message_id).first()
    if sent is None:
        return None
    done = sent.state == DeliveryState.SENT
    return {
        "message_id": message_id,
        "state": QueuedState.DELIVERED if done else QueuedState.SENDING,
        "genesys_message_id": sent.genesys_message_id or None,
        "conversation_id": sent.conversation_id or None,
        "attempts": 1,
        "error": None,
    }


def delivery_state_body(delivery: OutboundDelivery) -> dict[str, Any]:
    failed = delivery.state == QueuedState.FAILED
    error = None
    if failed or delivery.last_error:
        error = {"status": delivery.last_status, "detail": delivery.last_error}
    return {
        "message_id": delivery_client_id(delivery),
        "state": delivery.state,
        "genesys_message_id": delivery.genesys_message_id or None,
        "conversation_id": delivery.conversation_id or None,
        "attempts": delivery.attempts,
        "error": error,
    }


def deliveries_retry(*, ids: list[int]) -> int:
    """Queue failed rows again with a fresh age budget (the admin action); return how many."""
    now = timezone.now()
    count = OutboundDelivery.objects.filter(id__in=ids, state=QueuedState.FAILED).update(
        state=QueuedState.QUEUED,
        next_attempt_at=now,
        give_up_at=now + timedelta(seconds=settings.GENESYS_DELIVERY_MAX_AGE_S),
        attempts=0,
        finished_at=None,
    )
    if count:
        transaction.on_commit(deliveries_wake)
    return count

"""The outcome of an asynchronous delivery, as a CloudEvent for the WABA platform.

The one place outcomes leave outbound/: through the event sink (the outbox, registered by
the webhooks app; genesys_gateway/event_sink.py), called inside the transaction that
records the delivery's final state, so the event and the state commit together.
"""

from typing import Any

from django.utils import timezone

from genesys_gateway.event_sink import SinkEvent, event_emit
from genesys_gateway.times import time_format
from outbound.models import OutboundDelivery


def delivery_outcome_record(
    *, delivery: OutboundDelivery, event_type: str, subject: str, data: dict[str, Any]
) -> None:
    """Store `delivery.succeeded` / `delivery.failed` for the relay to publish.

    The event id is stable for one outcome (the delivery, the claim that reached it, the
    type), so a consumer can de-duplicate, and a retried delivery's new outcome is a new
    event. Events of one customer are published in order, like the deliveries themselves.
    """
    event_emit(
        tenant=delivery.tenant,
        event=SinkEvent(
            event_id=f"delivery:{delivery.pk}:{delivery.claim_token}:{event_type}",
            event_type=event_type,
            time=time_format(timezone.now()),
            data=data,
            conversation_id=subject or None,
            ordering_key=f"customer:{delivery.customer_key}",
        ),
    )

"""The outcome of an asynchronous delivery, as a CloudEvent for the WABA platform.

The one place outcomes leave outbound/: called inside the transaction that records the
delivery's final state, so the event and the state commit together.
"""

from typing import Any

import structlog

from outbound.models import OutboundDelivery

logger = structlog.get_logger(__name__)


def delivery_outcome_record(
    *, delivery: OutboundDelivery, event_type: str, subject: str, data: dict[str, Any]
) -> None:
    """Record `delivery.succeeded` / `delivery.failed` for the relay to publish.

    The event id is stable per delivery and outcome, so a consumer can de-duplicate.
    """
    event_id = f"delivery-{delivery.pk}-{event_type}"
    logger.info(
        "delivery_outcome",
        event_type=event_type,
        event_id=event_id,
        conversation_id=subject or None,
        data=data,
    )

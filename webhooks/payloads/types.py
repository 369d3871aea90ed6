"""The records every payload module shares: event types, `GenesysEvent`, `Notification`."""

from dataclasses import dataclass, field
from typing import Any

MESSAGE_OUTBOUND = "message.outbound"
MESSAGE_RECEIPT = "message.receipt"
AGENT_TYPING = "agent.typing"
CONVERSATION_DISCONNECTED = "conversation.disconnected"
PARTICIPANT_JOINED = "participant.joined"
PARTICIPANT_LEFT = "participant.left"
CONVERSATION_TRANSFERRED = "conversation.transferred"
AGENT_PRESENCE = "agent.presence"
EVENT_TYPES = (
    MESSAGE_OUTBOUND,
    MESSAGE_RECEIPT,
    AGENT_TYPING,
    CONVERSATION_DISCONNECTED,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    CONVERSATION_TRANSFERRED,
    AGENT_PRESENCE,
)
# Recorded in the outbox with status "ignored" and never published.
UNHANDLED = "genesys.unhandled"

TRANSFER_SUFFIX = ":transferred"

# Column sizes of OutboxMessage and Conversation: longer values are not Genesys ids.
MAX_OUTBOX_EVENT_ID = 200
MAX_EVENT_ID = MAX_OUTBOX_EVENT_ID - len(TRANSFER_SUFFIX)
MAX_CONVERSATION_ID = 64
MAX_CUSTOMER_ID = 255
MAX_USER_ID = 150


class PayloadError(ValueError):
    """The body is not JSON, or not a shape we know (HTTP 400)."""


@dataclass(frozen=True)
class GenesysEvent:
    """One event ready for the outbox, before the tenant is attached."""

    event_id: str
    event_type: str
    time: str
    conversation_id: str | None
    ordering_key: str
    data: dict[str, Any]
    published: bool = True


@dataclass(frozen=True)
class Notification:
    """A notification topic message with what its envelope told us."""

    topic_name: str
    event_body: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    envelope_id: str | None = None
    envelope_time: str | None = None
    organization_id: str | None = None


def event_create(
    *,
    event_id: str,
    event_type: str,
    time: str,
    data: dict[str, Any],
    conversation_id: str | None = None,
    ordering_key: str | None = None,
) -> GenesysEvent:
    """A `GenesysEvent`: ordered by its conversation unless told otherwise; unhandled
    events are recorded but never published."""
    key = ordering_key or conversation_id
    if not key:
        raise ValueError("An event needs a conversation or an ordering key.")
    return GenesysEvent(
        event_id=event_id,
        event_type=event_type,
        time=time,
        conversation_id=conversation_id,
        ordering_key=key,
        data=data,
        published=event_type != UNHANDLED,
    )

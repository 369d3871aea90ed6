"""The one durable way to send an event to the WhatsApp side, for code outside webhooks/.

Events reach RabbitMQ only through the outbox (webhooks/outbox/), written in the same
transaction as the state change they report. outbound/ reports the outcome of its
asynchronous deliveries that way too, but the two directions never import each other
(docs/architecture.md). So the outbox registers itself here when the webhooks app is ready,
and outbound calls `event_emit`. This module imports no app.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SinkEvent:
    """What the sink stores: a CloudEvent's parts (docs/events.md)."""

    event_id: str  # stable for one happening, so a redelivery stores nothing new
    event_type: str
    time: str  # ISO-8601 with zone
    data: dict[str, Any]
    conversation_id: str | None = None  # the CloudEvent subject
    ordering_key: str | None = None  # events of one key are published in order


# tenant, event -> True when stored, False when (tenant, event id) was stored already
Sink = Callable[[Any, SinkEvent], bool]

_sink: Sink | None = None


class NoEventSink(RuntimeError):
    """No app registered a sink: the webhooks app is not installed."""


def event_sink_register(sink: Sink) -> None:
    global _sink
    _sink = sink


def event_emit(*, tenant: Any, event: SinkEvent) -> bool:
    """Store `event` for publishing; call inside the transaction that records what it says."""
    if _sink is None:
        raise NoEventSink("no event sink is registered; is the webhooks app installed?")
    return _sink(tenant, event)

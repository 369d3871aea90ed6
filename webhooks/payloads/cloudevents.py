"""The CloudEvents 1.0 documents we publish, and their routing keys (docs/webhooks.md)."""

from typing import Any

from webhooks.payloads.types import GenesysEvent


def routing_key(*, event_type: str, tenant_slug: str) -> str:
    return f"{event_type}.{tenant_slug}"


def cloud_event_build(*, event: GenesysEvent, tenant_slug: str) -> dict[str, Any]:
    """The CloudEvents 1.0 document published for an event.

    `subject` is left out when no conversation is known (presence, or an agent message
    before the conversation id was learned): CloudEvents forbids an empty subject.
    """
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": event.event_id,
        "source": f"genesys-gateway/{tenant_slug}",
        "type": event.event_type,
        "time": event.time,
        "tenant": tenant_slug,
        "datacontenttype": "application/json",
        "data": event.data,
    }
    if event.conversation_id:
        document["subject"] = event.conversation_id
    return document

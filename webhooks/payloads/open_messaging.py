"""The Open Messaging outbound webhook: agent/bot messages, receipts, typing events.

Each payload becomes one `GenesysEvent` (an unhandled, unpublished one for what is not a
message, receipt or typing event). The field mapping is in docs/webhooks.md.
"""

from typing import Any

from webhooks.payloads.content import message_content_normalise
from webhooks.payloads.parsing import as_dict, as_int, as_list, as_str, genesys_id
from webhooks.payloads.times import time_normalise
from webhooks.payloads.types import (
    AGENT_TYPING,
    MAX_CONVERSATION_ID,
    MAX_CUSTOMER_ID,
    MAX_EVENT_ID,
    MAX_OUTBOX_EVENT_ID,
    MESSAGE_OUTBOUND,
    MESSAGE_RECEIPT,
    UNHANDLED,
    GenesysEvent,
    PayloadError,
    event_create,
)


def open_messaging_integration_candidates(payload: Any) -> list[str]:
    """Integration ids the payload may belong to, most likely first (no full parse).

    `channel.id` is the integration id on every documented payload; the recipient
    fields are a fallback: for an outbound message the integration is `from`, for an
    inbound one it is `to`.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("channel"), dict):
        raise PayloadError("Not an Open Messaging payload: no channel.")
    channel = payload["channel"]
    from_id = as_str(as_dict(channel.get("from")).get("id"))
    to_id = as_str(as_dict(channel.get("to")).get("id"))
    fallback = [to_id, from_id] if payload.get("direction") == "Inbound" else [from_id, to_id]
    candidates = [as_str(channel.get("id")), *fallback]
    unique = [c for c in dict.fromkeys(candidates) if c and len(c) <= 64]
    if not unique:
        raise PayloadError("Not an Open Messaging payload: no integration id.")
    return unique


def open_messaging_customer_id(payload: dict[str, Any], *, integration_id: str) -> str:
    """The customer's id: whichever of `channel.to` / `channel.from` is not the integration."""
    return as_str(_customer(payload, integration_id=integration_id).get("id"))[:MAX_CUSTOMER_ID]


def _customer(payload: dict[str, Any], *, integration_id: str) -> dict[str, Any]:
    channel = as_dict(payload.get("channel"))
    to, sender = as_dict(channel.get("to")), as_dict(channel.get("from"))
    return sender if as_str(to.get("id")) == integration_id else to


def open_messaging_conversation_id(payload: dict[str, Any]) -> str:
    """`conversationId`, when Genesys includes it (it does not promise to)."""
    value = as_str(payload.get("conversationId"))
    return value if len(value) <= MAX_CONVERSATION_ID else ""


def open_messaging_ordering_key(
    *, conversation_id: str | None, integration_id: str, customer_id: str
) -> str:
    """The conversation when known; else the customer, which keeps their messages in order."""
    if conversation_id:
        return conversation_id
    return f"customer:{integration_id}:{customer_id}"[:200]


def open_messaging_normalise(
    *, payload: dict[str, Any], integration_id: str, conversation_id: str | None
) -> list[GenesysEvent]:
    """One event for an Open Messaging webhook (an unhandled one when we do not use it)."""
    message_id = genesys_id(payload.get("id"), name="id", max_length=MAX_EVENT_ID)
    message_type = payload.get("type")
    if not isinstance(message_type, str) or not message_type:
        raise PayloadError("type is missing.")
    time = time_normalise(as_dict(payload.get("channel")).get("time"))
    if time is None:
        raise PayloadError("channel.time is missing or not an ISO-8601 time.")
    customer = _customer(payload, integration_id=integration_id)
    customer_id = open_messaging_customer_id(payload, integration_id=integration_id)
    base: dict[str, Any] = {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "integration_id": integration_id,
        "customer_id": customer_id,
        "customer_id_type": as_str(customer.get("idType")) or None,
    }
    normalise = _NORMALISERS.get(message_type, _other_type)
    event_type, data = normalise(payload, base)
    event_id = message_id
    if event_type == MESSAGE_RECEIPT:
        # A receipt's id is the receipted message's: Sent, Delivered and Read of one
        # message are three events.
        event_id = genesys_id(
            f"{message_id}:{data['status'] or ''}",
            name="id and status",
            max_length=MAX_OUTBOX_EVENT_ID,
        )
    return [
        event_create(
            event_id=event_id,
            event_type=event_type,
            time=time,
            data=data,
            conversation_id=conversation_id,
            ordering_key=open_messaging_ordering_key(
                conversation_id=conversation_id,
                integration_id=integration_id,
                customer_id=customer_id,
            ),
        )
    ]


def _message(payload: dict[str, Any], base: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = base | message_content_normalise(payload)
    data["originating_entity"] = as_str(payload.get("originatingEntity")) or None
    data["metadata"] = as_dict(payload.get("metadata"))
    if not (data["text"] or data["content"]):
        # Nothing to send at all; content the gateway does not understand is still sent.
        return UNHANDLED, _unhandled("message without text or content", payload)
    return MESSAGE_OUTBOUND, data


def _receipt(payload: dict[str, Any], base: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    reasons = [
        {"code": as_str(r.get("code")) or None, "message": as_str(r.get("message")) or None}
        for r in as_list(payload.get("reasons"))
        if isinstance(r, dict)
    ]
    return MESSAGE_RECEIPT, base | {
        "status": as_str(payload.get("status")) or None,
        "reasons": reasons,
        "is_final_receipt": payload.get("isFinalReceipt") is True,
        "direction": as_str(payload.get("direction")) or None,
    }


def _event(payload: dict[str, Any], base: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for item in as_list(payload.get("events")):
        if isinstance(item, dict) and item.get("eventType") == "Typing":
            typing = as_dict(item.get("typing"))
            return AGENT_TYPING, base | {
                "typing": {
                    "type": as_str(typing.get("type")) or "On",
                    "duration_ms": as_int(typing.get("duration")),
                }
            }
    return UNHANDLED, _unhandled("event without a Typing item", payload)


def _other_type(payload: dict[str, Any], base: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return UNHANDLED, _unhandled(f"message type {payload['type']!r}", payload)


def _unhandled(reason: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"reason": reason, "payload": payload}


_NORMALISERS = {
    "Text": _message,
    "Structured": _message,
    "Receipt": _receipt,
    "Event": _event,
}

"""Genesys payloads -> our event vocabulary (CONTRACT section 4). Plain functions, no I/O.

Two inputs: the Open Messaging outbound webhook (API-FACTS section 3) and notification
topics `{topicName, version, eventBody, metadata?}`, bare or inside an AWS EventBridge
envelope (API-FACTS section 7). Each becomes zero or more `GenesysEvent`s; the caller
adds the tenant and turns them into CloudEvents with `cloud_event_build`.

Anything that cannot be stored or understood raises `PayloadError` (HTTP 400).
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

logger = structlog.get_logger(__name__)

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

HEARTBEAT_TOPIC = "channel.metadata"
TRANSFER_SUFFIX = ":transferred"

# Column sizes of OutboxMessage and Conversation: longer values are not Genesys ids.
MAX_EVENT_ID = 200 - len(TRANSFER_SUFFIX)
MAX_CONVERSATION_ID = 64
MAX_CUSTOMER_ID = 255
MAX_USER_ID = 150

_CONVERSATION_TOPIC = re.compile(r"^v2\.detail\.events\.conversation\.([^.]+)\.(.+)$")
_USER_TOPIC = re.compile(r"^v2\.users\.([^.]+)\.(presence|routingStatus)$")

# Conversation detail topic suffix -> (event type, participant kind).
_CONVERSATION_TOPICS: dict[str, tuple[str, str]] = {
    "customer.end": (CONVERSATION_DISCONNECTED, "customer"),
    "user.start": (PARTICIPANT_JOINED, "agent"),
    "user.end": (PARTICIPANT_LEFT, "agent"),
    "acd.start": (PARTICIPANT_JOINED, "queue"),
    "acd.end": (PARTICIPANT_LEFT, "queue"),
}


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


# --- Parsing helpers --------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"{name} is not valid JSON")


def json_parse(body: bytes) -> Any:
    """Parse a request body; anything PostgreSQL's jsonb could not store is a PayloadError."""
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting
        raise PayloadError("The body is not valid JSON.") from exc
    _require_storable(value)
    return value


def _require_storable(value: Any) -> None:
    """Strings must be valid UTF-8 without NUL, numbers finite (jsonb rejects the rest)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise PayloadError("The body contains a NUL character.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:  # lone surrogates from \ud800 escapes
                raise PayloadError("The body contains an invalid unicode escape.") from exc
        elif isinstance(item, float) and not math.isfinite(item):
            raise PayloadError("The body contains a number out of range.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _id(value: Any, *, name: str, max_length: int, required: bool = True) -> str:
    """A Genesys id: a non-empty string that fits our columns."""
    if not isinstance(value, str) or not value.strip():
        if required:
            raise PayloadError(f"{name} is missing.")
        return ""
    if len(value) > max_length:
        raise PayloadError(f"{name} is longer than {max_length} characters.")
    return value


def time_normalise(value: Any) -> str | None:
    """An ISO-8601 string or epoch milliseconds as `2026-01-31T12:00:00.000Z`, else None."""
    moment: datetime | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        try:
            moment = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # Genesys times are UTC
    if moment is None:
        return None
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_now() -> str:
    return time_normalise(datetime.now(tz=UTC).isoformat()) or ""


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- Open Messaging outbound webhook ----------------------------------------------------


def open_messaging_integration_candidates(payload: Any) -> list[str]:
    """Integration ids the payload may belong to, most likely first (no full parse).

    `channel.id` is the integration id on every documented payload; the recipient
    fields are a fallback: for an outbound message the integration is `from`, for an
    inbound one it is `to`.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("channel"), dict):
        raise PayloadError("Not an Open Messaging payload: no channel.")
    channel = payload["channel"]
    from_id = _str(_dict(channel.get("from")).get("id"))
    to_id = _str(_dict(channel.get("to")).get("id"))
    fallback = [to_id, from_id] if payload.get("direction") == "Inbound" else [from_id, to_id]
    candidates = [_str(channel.get("id")), *fallback]
    unique = [c for c in dict.fromkeys(candidates) if c and len(c) <= 64]
    if not unique:
        raise PayloadError("Not an Open Messaging payload: no integration id.")
    return unique


def open_messaging_customer_id(payload: dict[str, Any], *, integration_id: str) -> str:
    """The customer's id: whichever of `channel.to` / `channel.from` is not the integration."""
    channel = _dict(payload.get("channel"))
    to_id = _str(_dict(channel.get("to")).get("id"))
    from_id = _str(_dict(channel.get("from")).get("id"))
    customer = from_id if to_id == integration_id else to_id
    return customer[:MAX_CUSTOMER_ID]


def open_messaging_conversation_id(payload: dict[str, Any]) -> str:
    """`conversationId`, when Genesys includes it (not guaranteed, API-FACTS open question 5)."""
    value = _str(payload.get("conversationId"))
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
    message_id = _id(payload.get("id"), name="id", max_length=MAX_EVENT_ID)
    message_type = payload.get("type")
    if not isinstance(message_type, str) or not message_type:
        raise PayloadError("type is missing.")
    channel = _dict(payload.get("channel"))
    time = time_normalise(channel.get("time"))
    if time is None:
        raise PayloadError("channel.time is missing or not an ISO-8601 time.")
    customer_id = open_messaging_customer_id(payload, integration_id=integration_id)
    to, sender = _dict(channel.get("to")), _dict(channel.get("from"))
    customer = sender if _str(to.get("id")) == integration_id else to
    base: dict[str, Any] = {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "integration_id": integration_id,
        "customer_id": customer_id,
        "customer_id_type": _str(customer.get("idType")) or None,
    }

    def event(event_type: str, data: dict[str, Any], *, published: bool = True) -> GenesysEvent:
        return GenesysEvent(
            event_id=message_id,
            event_type=event_type,
            time=time,
            conversation_id=conversation_id,
            ordering_key=open_messaging_ordering_key(
                conversation_id=conversation_id,
                integration_id=integration_id,
                customer_id=customer_id,
            ),
            data=data,
            published=published,
        )

    if message_type in ("Text", "Structured"):
        data = base | _message_content(payload)
        data["originating_entity"] = _str(payload.get("originatingEntity")) or None
        data["metadata"] = _dict(payload.get("metadata"))
        if not (
            data["text"] or data["attachments"] or data["quick_replies"] or data["rich_content"]
        ):
            return [
                event(
                    UNHANDLED,
                    _unhandled("message without usable content", payload),
                    published=False,
                )
            ]
        return [event(MESSAGE_OUTBOUND, data)]
    if message_type == "Receipt":
        reasons = [
            {"code": _str(r.get("code")) or None, "message": _str(r.get("message")) or None}
            for r in _list(payload.get("reasons"))
            if isinstance(r, dict)
        ]
        data = base | {
            "status": _str(payload.get("status")) or None,
            "reasons": reasons,
            "is_final_receipt": payload.get("isFinalReceipt") is True,
            "direction": _str(payload.get("direction")) or None,
        }
        return [event(MESSAGE_RECEIPT, data)]
    if message_type == "Event":
        for item in _list(payload.get("events")):
            if isinstance(item, dict) and item.get("eventType") == "Typing":
                typing = _dict(item.get("typing"))
                duration = typing.get("duration")
                data = base | {
                    "typing": {
                        "type": _str(typing.get("type")) or "On",
                        "duration_ms": duration
                        if isinstance(duration, int) and not isinstance(duration, bool)
                        else None,
                    }
                }
                return [event(AGENT_TYPING, data)]
        return [
            event(UNHANDLED, _unhandled("event without a Typing item", payload), published=False)
        ]
    return [
        event(UNHANDLED, _unhandled(f"message type {message_type!r}", payload), published=False)
    ]


def _message_content(payload: dict[str, Any]) -> dict[str, Any]:
    """Text, attachments and structured content of a message; unknown content is skipped."""
    attachments: list[dict[str, Any]] = []
    quick_replies: list[dict[str, Any]] = []
    quick_replies_title: str | None = None
    rich_content: list[dict[str, Any]] = []
    for item in _list(payload.get("content")):
        content_type = _str(_dict(item).get("contentType"))
        if content_type == "Attachment" and isinstance(item.get("attachment"), dict):
            attachments.append(_attachment(item["attachment"]))
        elif content_type == "QuickReply" and isinstance(item.get("quickReply"), dict):
            quick_replies.append(_quick_reply(item["quickReply"]))
        elif content_type == "QuickReplyV2" and isinstance(item.get("quickReplyV2"), dict):
            group = item["quickReplyV2"]
            quick_replies_title = _str(group.get("title")) or quick_replies_title
            quick_replies.extend(
                _quick_reply(action)
                for action in _list(group.get("actions"))
                if isinstance(action, dict)
            )
        elif content_type in ("Card", "Carousel") and isinstance(
            item.get(content_type.lower()), dict
        ):
            # Passed through as Genesys sent them; the WhatsApp side maps them to
            # interactive messages it supports.
            rich_content.append(item)
        else:
            logger.info("webhook.content_skipped", content_type=content_type or None)
    return {
        "text": _str(payload.get("text")),
        "attachments": attachments,
        "quick_replies": quick_replies,
        "quick_replies_title": quick_replies_title,
        "rich_content": rich_content,
    }


def _attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    size = attachment.get("contentSizeBytes")
    return {
        "id": _str(attachment.get("id")) or None,
        "media_type": _str(attachment.get("mediaType")) or None,
        "url": _str(attachment.get("url")) or None,
        "mime": _str(attachment.get("mime")) or None,
        "filename": _str(attachment.get("filename")) or None,
        "text": _str(attachment.get("text")) or None,
        "content_size_bytes": size
        if isinstance(size, int) and not isinstance(size, bool)
        else None,
    }


def _quick_reply(reply: dict[str, Any]) -> dict[str, Any]:
    return {
        "text": _str(reply.get("text")),
        "payload": _str(reply.get("payload")),
        "action": _str(reply.get("action")) or "Message",
    }


def _unhandled(reason: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"reason": reason, "payload": payload}


# --- Notification topics ------------------------------------------------------------------


def notification_unwrap(payload: Any) -> Notification:
    """The notification inside a body, bare or in an EventBridge envelope (`detail`)."""
    if not isinstance(payload, dict):
        raise PayloadError("Not a notification: the body is not a JSON object.")
    envelope_id = envelope_time = organization_id = None
    inner = payload
    if isinstance(payload.get("detail"), dict) and "topicName" not in payload:
        inner = payload["detail"]
        envelope_id = _id(payload.get("id"), name="id", max_length=MAX_EVENT_ID, required=False)
        envelope_time = time_normalise(payload.get("time"))
        organization_id = eventbridge_organization_id(_str(payload.get("source")))
        envelope_time = envelope_time or time_normalise(inner.get("timestamp"))
    topic_name = inner.get("topicName")
    if not isinstance(topic_name, str) or not topic_name:
        raise PayloadError("Not a notification: topicName is missing.")
    event_body = inner.get("eventBody")
    if not isinstance(event_body, dict):
        raise PayloadError("Not a notification: eventBody is not an object.")
    return Notification(
        topic_name=topic_name,
        event_body=event_body,
        metadata=_dict(inner.get("metadata")),
        envelope_id=envelope_id or None,
        envelope_time=envelope_time,
        organization_id=organization_id,
    )


def eventbridge_organization_id(source: str) -> str | None:
    """`aws.partner/genesys.com/cloud/<orgId>/<suffix>` -> orgId."""
    parts = source.split("/")
    if len(parts) >= 3 and parts[-2] and len(parts[-2]) <= 64:
        return parts[-2]
    return None


def notification_is_heartbeat(notification: Notification) -> bool:
    return notification.topic_name == HEARTBEAT_TOPIC


def notification_conversation_id(notification: Notification) -> str | None:
    """The conversation a detail-event topic is about."""
    match = _CONVERSATION_TOPIC.match(notification.topic_name)
    if match is None:
        return None
    conversation_id = match.group(1)
    if len(conversation_id) > MAX_CONVERSATION_ID:
        raise PayloadError("The conversation id in topicName is too long.")
    return conversation_id


def notification_integration_ids(notification: Notification) -> list[str]:
    """Integration ids an open-messaging detail event names (`addressTo`/`addressFrom`)."""
    body = notification.event_body
    address_to, address_from = _str(body.get("addressTo")), _str(body.get("addressFrom"))
    ordered = (
        [address_from, address_to]
        if body.get("direction") == "OUTBOUND"
        else [
            address_to,
            address_from,
        ]
    )
    return [a for a in dict.fromkeys(ordered) if a and len(a) <= 64]


def notification_customer_id(notification: Notification, *, integration_id: str) -> str:
    """The customer's address on an open-messaging detail event: the side that is not us."""
    body = notification.event_body
    address_to, address_from = _str(body.get("addressTo")), _str(body.get("addressFrom"))
    customer = address_to if address_from == integration_id else address_from
    return customer[:MAX_CUSTOMER_ID]


def notification_event_id(notification: Notification) -> str:
    """EventBridge envelope id, else metadata.CorrelationId, else a hash of the content."""
    if notification.envelope_id:
        return notification.envelope_id
    correlation_id = notification.metadata.get("CorrelationId")
    if isinstance(correlation_id, str) and correlation_id and len(correlation_id) <= MAX_EVENT_ID:
        return correlation_id
    content = notification.topic_name + _canonical_json(notification.event_body)
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


def _notification_time(notification: Notification, *candidates: Any) -> str:
    for candidate in candidates:
        time = time_normalise(candidate)
        if time:
            return time
    return notification.envelope_time or time_now()


def notification_normalise(notification: Notification) -> list[GenesysEvent]:
    """Events for one notification; unhandled topics become one unpublished record."""
    event_id = notification_event_id(notification)
    body = notification.event_body
    conversation_id = notification_conversation_id(notification)
    if conversation_id is not None:
        suffix = _CONVERSATION_TOPIC.match(notification.topic_name).group(2)  # type: ignore[union-attr]  # matched above
        time = _notification_time(notification, body.get("eventTime"))
        known = _CONVERSATION_TOPICS.get(suffix)
        if known is None:
            return [
                _unhandled_notification(
                    notification, event_id=event_id, time=time, ordering_key=conversation_id
                )
            ]
        event_type, kind = known
        disconnect_type = _str(body.get("disconnectType")) or None
        data = {
            "conversation_id": conversation_id,
            "participant_id": _str(body.get("participantId")) or None,
            "participant_kind": kind,
            "user_id": _str(body.get("userId")) or None,
            "queue_id": _str(body.get("queueId")) or None,
            "disconnect_type": disconnect_type,
        }
        events = [
            GenesysEvent(
                event_id=event_id,
                event_type=event_type,
                time=time,
                conversation_id=conversation_id,
                ordering_key=conversation_id,
                data=data,
            )
        ]
        # Only an agent's user.end marks a transfer: acd.end ends with TRANSFER whenever
        # the queue hands the conversation to an agent, which is no transfer at all.
        if suffix == "user.end" and (disconnect_type or "").endswith("TRANSFER"):
            events.append(
                GenesysEvent(
                    event_id=event_id + TRANSFER_SUFFIX,
                    event_type=CONVERSATION_TRANSFERRED,
                    time=time,
                    conversation_id=conversation_id,
                    ordering_key=conversation_id,
                    data=data,
                )
            )
        return events

    user_match = _USER_TOPIC.match(notification.topic_name)
    if user_match is not None:
        user_id, kind = user_match.groups()
        if len(user_id) > MAX_USER_ID:
            raise PayloadError("The user id in topicName is too long.")
        presence: dict[str, Any] = {"user_id": user_id, "presence": None, "routing_status": None}
        if kind == "presence":
            definition = _dict(body.get("presenceDefinition"))
            presence |= {
                "changed": "presence",
                "presence": _str(definition.get("systemPresence")) or None,
                "presence_definition_id": _str(definition.get("id")) or None,
                "message": _str(body.get("message")) or None,
            }
            time = _notification_time(notification, body.get("modifiedDate"))
        else:
            routing = _dict(body.get("routingStatus"))
            presence |= {
                "changed": "routing_status",
                "routing_status": _str(routing.get("status")) or None,
            }
            time = _notification_time(notification, routing.get("startTime"))
        return [
            GenesysEvent(
                event_id=event_id,
                event_type=AGENT_PRESENCE,
                time=time,
                conversation_id=None,
                ordering_key=f"user:{user_id}",
                data=presence,
            )
        ]

    return [
        _unhandled_notification(
            notification,
            event_id=event_id,
            time=_notification_time(notification, body.get("eventTime")),
            ordering_key=f"topic:{notification.topic_name}"[:200],
        )
    ]


def _unhandled_notification(
    notification: Notification, *, event_id: str, time: str, ordering_key: str
) -> GenesysEvent:
    return GenesysEvent(
        event_id=event_id,
        event_type=UNHANDLED,
        time=time,
        conversation_id=notification_conversation_id(notification),
        ordering_key=ordering_key,
        data={
            "reason": "topic not published",
            "topic_name": notification.topic_name,
            "event_body": notification.event_body,
        },
        published=False,
    )


# --- CloudEvents --------------------------------------------------------------------------


def routing_key(*, event_type: str, tenant_slug: str) -> str:
    return f"{event_type}.{tenant_slug}"


def cloud_event_build(*, event: GenesysEvent, tenant_slug: str) -> dict[str, Any]:
    """The CloudEvents 1.0 document published for an event (CONTRACT section 4).

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

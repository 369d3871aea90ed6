"""Notification topics `{topicName, version, eventBody, metadata?}`, bare or inside an AWS
EventBridge envelope: conversation detail events and user presence/routing status.

Each becomes zero or more `GenesysEvent`s; topics we do not map become one unhandled,
unpublished record. The topic mapping is in docs/webhooks.md.
"""

import hashlib
import re
from typing import Any

from webhooks.payloads.parsing import as_dict, as_str, canonical_json, genesys_id
from webhooks.payloads.times import time_normalise, time_now
from webhooks.payloads.types import (
    AGENT_PRESENCE,
    CONVERSATION_DISCONNECTED,
    CONVERSATION_TRANSFERRED,
    MAX_CONVERSATION_ID,
    MAX_CUSTOMER_ID,
    MAX_EVENT_ID,
    MAX_USER_ID,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    TRANSFER_SUFFIX,
    UNHANDLED,
    GenesysEvent,
    Notification,
    PayloadError,
    event_create,
)

HEARTBEAT_TOPIC = "channel.metadata"

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


def notification_unwrap(payload: Any) -> Notification:
    """The notification inside a body, bare or in an EventBridge envelope (`detail`)."""
    if not isinstance(payload, dict):
        raise PayloadError("Not a notification: the body is not a JSON object.")
    envelope_id = envelope_time = organization_id = None
    inner = payload
    if isinstance(payload.get("detail"), dict) and "topicName" not in payload:
        inner = payload["detail"]
        envelope_id = genesys_id(
            payload.get("id"), name="id", max_length=MAX_EVENT_ID, required=False
        )
        envelope_time = time_normalise(payload.get("time"))
        organization_id = eventbridge_organization_id(as_str(payload.get("source")))
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
        metadata=as_dict(inner.get("metadata")),
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
    address_to, address_from = as_str(body.get("addressTo")), as_str(body.get("addressFrom"))
    outbound = body.get("direction") == "OUTBOUND"
    ordered = [address_from, address_to] if outbound else [address_to, address_from]
    return [a for a in dict.fromkeys(ordered) if a and len(a) <= 64]


def notification_customer_id(notification: Notification, *, integration_id: str) -> str:
    """The customer's address on an open-messaging detail event: the side that is not us."""
    body = notification.event_body
    address_to, address_from = as_str(body.get("addressTo")), as_str(body.get("addressFrom"))
    customer = address_to if address_from == integration_id else address_from
    return customer[:MAX_CUSTOMER_ID]


def notification_event_id(notification: Notification) -> str:
    """EventBridge envelope id, else metadata.CorrelationId, else a hash of the content."""
    if notification.envelope_id:
        return notification.envelope_id
    correlation_id = notification.metadata.get("CorrelationId")
    if isinstance(correlation_id, str) and correlation_id and len(correlation_id) <= MAX_EVENT_ID:
        return correlation_id
    content = notification.topic_name + canonical_json(notification.event_body)
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


def notification_time(notification: Notification, *candidates: Any) -> str:
    """The first candidate that is a time, else the envelope's time, else now."""
    for candidate in candidates:
        time = time_normalise(candidate)
        if time:
            return time
    return notification.envelope_time or time_now()


def notification_normalise(notification: Notification) -> list[GenesysEvent]:
    """Events for one notification; unhandled topics become one unpublished record."""
    conversation_match = _CONVERSATION_TOPIC.match(notification.topic_name)
    if conversation_match is not None:
        return _conversation_events(notification, suffix=conversation_match.group(2))
    user_match = _USER_TOPIC.match(notification.topic_name)
    if user_match is not None:
        user_id, kind = user_match.groups()
        return [_presence_event(notification, user_id=user_id, kind=kind)]
    return [
        _unhandled_event(
            notification,
            time=notification_time(notification, notification.event_body.get("eventTime")),
            ordering_key=f"topic:{notification.topic_name}"[:200],
        )
    ]


def _conversation_events(notification: Notification, *, suffix: str) -> list[GenesysEvent]:
    """A participant or disconnect event of a conversation detail topic."""
    body = notification.event_body
    conversation_id = notification_conversation_id(notification)
    assert conversation_id is not None  # the caller matched the conversation topic
    time = notification_time(notification, body.get("eventTime"))
    known = _CONVERSATION_TOPICS.get(suffix)
    if known is None:
        return [_unhandled_event(notification, time=time, ordering_key=conversation_id)]
    event_type, kind = known
    disconnect_type = as_str(body.get("disconnectType")) or None
    data = {
        "conversation_id": conversation_id,
        "participant_id": as_str(body.get("participantId")) or None,
        "participant_kind": kind,
        "user_id": as_str(body.get("userId")) or None,
        "queue_id": as_str(body.get("queueId")) or None,
        "disconnect_type": disconnect_type,
    }
    event_id = notification_event_id(notification)
    types = [(event_id, event_type)]
    # Only an agent's user.end marks a transfer: acd.end ends with TRANSFER whenever
    # the queue hands the conversation to an agent, which is no transfer at all.
    if suffix == "user.end" and (disconnect_type or "").endswith("TRANSFER"):
        types.append((event_id + TRANSFER_SUFFIX, CONVERSATION_TRANSFERRED))
    return [
        event_create(
            event_id=an_id, event_type=a_type, time=time, data=data, conversation_id=conversation_id
        )
        for an_id, a_type in types
    ]


def _presence_event(notification: Notification, *, user_id: str, kind: str) -> GenesysEvent:
    """`agent.presence` for a user's presence or routing status topic."""
    if len(user_id) > MAX_USER_ID:
        raise PayloadError("The user id in topicName is too long.")
    body = notification.event_body
    presence: dict[str, Any] = {"user_id": user_id, "presence": None, "routing_status": None}
    if kind == "presence":
        definition = as_dict(body.get("presenceDefinition"))
        presence |= {
            "changed": "presence",
            "presence": as_str(definition.get("systemPresence")) or None,
            "presence_definition_id": as_str(definition.get("id")) or None,
            "message": as_str(body.get("message")) or None,
        }
        time = notification_time(notification, body.get("modifiedDate"))
    else:
        routing = as_dict(body.get("routingStatus"))
        presence |= {
            "changed": "routing_status",
            "routing_status": as_str(routing.get("status")) or None,
        }
        time = notification_time(notification, routing.get("startTime"))
    return event_create(
        event_id=notification_event_id(notification),
        event_type=AGENT_PRESENCE,
        time=time,
        data=presence,
        ordering_key=f"user:{user_id}",
    )


def _unhandled_event(notification: Notification, *, time: str, ordering_key: str) -> GenesysEvent:
    return event_create(
        event_id=notification_event_id(notification),
        event_type=UNHANDLED,
        time=time,
        conversation_id=notification_conversation_id(notification),
        ordering_key=ordering_key,
        data={
            "reason": "topic not published",
            "topic_name": notification.topic_name,
            "event_body": notification.event_body,
        },
    )

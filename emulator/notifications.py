"""Notification topic bodies Genesys delivers about conversations and users.

Samples: tests/fixtures/genesys/notification-*.json.

Bare form: {topicName, version, eventBody, metadata}; optionally wrapped in the Amazon
EventBridge envelope whose `source` ends in /<orgId>/<suffix>.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from emulator.clock import now_iso, now_ms
from emulator.conversations import PROVIDER
from emulator.directory import DIVISION_ID, presence_definition_id


def _notification(topic: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "topicName": topic,
        "version": version,
        "eventBody": body,
        "metadata": {"CorrelationId": str(uuid.uuid4())},
    }


def _conversation_body(
    conversation: dict[str, Any], participant: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventTime": now_ms(),
        "conversationId": conversation["id"],
        "participantId": participant["id"],
        "sessionId": participant["communication_id"],
        "mediaType": "MESSAGE",
        "provider": PROVIDER,
        "direction": "INBOUND",
        "addressTo": conversation["integration_id"],
        "addressFrom": conversation["customer"]["id"],
        "messageType": "OPEN",
        "divisionId": DIVISION_ID,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def _duration_ms(participant: dict[str, Any]) -> int:
    start = participant.get("connected_time") or participant["start_time"]
    end = participant.get("end_time") or now_iso()
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return max(0, int(delta.total_seconds() * 1000))


def conversation_topic(conversation: dict[str, Any], suffix: str) -> str:
    return f"v2.detail.events.conversation.{conversation['id']}.{suffix}"


def customer_end(conversation: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """CustomerEndDetailEventTopicCustomerEndEvent."""
    body = _conversation_body(
        conversation,
        customer,
        disconnectType=(customer["disconnect_type"] or "peer").upper(),
        interactingDurationMs=_duration_ms(customer),
    )
    return _notification(conversation_topic(conversation, "customer.end"), "1", body)


def user_start(conversation: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
    """UserStartDetailEventTopicUserStartEvent."""
    body = _conversation_body(
        conversation,
        agent,
        userId=agent["user_id"],
        queueId=agent["queue_id"],
        conversationExternalContactIds=[],
        conversationExternalOrganizationIds=[],
    )
    return _notification(conversation_topic(conversation, "user.start"), "1", body)


def user_end(conversation: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
    """UserEndDetailEventTopicUserEndEvent; disconnectType TRANSFER on a transfer."""
    body = _conversation_body(
        conversation,
        agent,
        disconnectType=(agent["disconnect_type"] or "client").upper(),
        userId=agent["user_id"],
        queueId=agent["queue_id"],
        interactingDurationMs=_duration_ms(agent),
        alertingDurationMs=0,
        conversationExternalContactIds=[],
        conversationExternalOrganizationIds=[],
    )
    return _notification(conversation_topic(conversation, "user.end"), "1", body)


def acd_start(conversation: dict[str, Any], acd: dict[str, Any]) -> dict[str, Any]:
    """AcdStartDetailEventTopicAcdStartEvent."""
    body = _conversation_body(
        conversation,
        acd,
        queueId=acd["queue_id"],
        conversationExternalContactIds=[],
        conversationExternalOrganizationIds=[],
        routingPriority=0,
        requestedRoutingSkillIds=[],
        skillExpressionApplied=False,
    )
    return _notification(conversation_topic(conversation, "acd.start"), "1", body)


def presence(user: dict[str, Any]) -> dict[str, Any]:
    """v2.users.{id}.presence with a PresenceEventUserPresence body."""
    system = user["_presence"]["systemPresence"]
    body = {
        "source": "PURECLOUD",
        "presenceDefinition": {"id": presence_definition_id(system), "systemPresence": system},
        "primary": True,
        "message": "",
        "modifiedDate": user["_presence"]["modifiedDate"],
    }
    return _notification(f"v2.users.{user['id']}.presence", "2", body)


def routing_status(user: dict[str, Any]) -> dict[str, Any]:
    """v2.users.{id}.routingStatus with a UserRoutingStatusUserRoutingStatus body."""
    body = {
        "id": user["id"],
        "routingStatus": {
            "status": user["_routing"]["status"],
            "startTime": user["_routing"]["startTime"],
        },
    }
    return _notification(f"v2.users.{user['id']}.routingStatus", "2", body)


def eventbridge(notification: dict[str, Any], *, org_id: str, suffix: str) -> dict[str, Any]:
    """The Amazon EventBridge envelope Genesys' EventBridge integration delivers."""
    topic = notification["topicName"]
    parts = topic.split(".")
    # detail-type is the topic pattern: the concrete id replaced by the literal {id}.
    pattern = ".".join("{id}" if _is_uuid(part) else part for part in parts)
    detail = dict(notification)
    detail["timestamp"] = now_iso()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": pattern,
        "source": f"aws.partner/genesys.com/cloud/{org_id}/{suffix}",
        "account": "000000000000",
        "time": now_iso()[:19] + "Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

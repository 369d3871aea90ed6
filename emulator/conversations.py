"""Open messaging conversations: their life (create, route, transfer, end) and Genesys views.

A conversation is a plain dict kept in State.conversations; the *_view functions render the
Genesys shapes (Conversation, MessageConversation, MessageData). Call everything here with
state.lock held.
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator.clock import now_iso
from emulator.directory import DIVISION_ID, QUEUE_ID, QUEUE_NAME
from emulator.state import State

PROVIDER = "PureCloud Messaging"
# MessageData.status for each receipt status the receipt endpoint accepts.
RECEIPT_STATUS = {"Delivered": "delivery-success", "Failed": "delivery-failed"}


def _participant(
    purpose: str, name: str, *, direction: str = "inbound", **extra: Any
) -> dict[str, Any]:
    now = now_iso()
    participant: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "purpose": purpose,
        "name": name,
        "state": "connected",
        "start_time": now,
        "connected_time": now,
        "end_time": None,
        "disconnect_type": None,
        "attributes": {},
        "communication_id": str(uuid.uuid4()),
        "direction": direction,
        "participant_type": "External" if purpose == "customer" else "Internal",
        "user_id": None,
        "queue_id": None,
        "queue_name": None,
        "wrapup_required": purpose == "agent",
    }
    participant.update(extra)
    return participant


def _end_participant(participant: dict[str, Any], disconnect_type: str) -> None:
    if participant["state"] == "disconnected":
        return
    participant["state"] = "disconnected"
    participant["end_time"] = now_iso()
    participant["disconnect_type"] = disconnect_type


def conversation_create(
    state: State, *, integration_id: str, customer: dict[str, Any]
) -> dict[str, Any]:
    """A new conversation with its customer participant."""
    customer_name = " ".join(
        part for part in (customer.get("firstName"), customer.get("lastName")) if part
    )
    conversation: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "integration_id": integration_id,
        "customer": dict(customer),
        "state": "connected",
        "start_time": now_iso(),
        "end_time": None,
        "participants": [
            _participant("customer", customer.get("nickname") or customer_name or customer["id"])
        ],
        "messages": [],
        "recent_transfers": [],
        "events": [],
    }
    state.conversations[conversation["id"]] = conversation
    return conversation


def customer_of(conversation: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in conversation["participants"] if p["purpose"] == "customer")


def agent_of(conversation: dict[str, Any]) -> dict[str, Any] | None:
    """The connected agent participant, if any."""
    for participant in reversed(conversation["participants"]):
        if participant["purpose"] == "agent" and participant["state"] == "connected":
            return participant
    return None


def participant_get(conversation: dict[str, Any], participant_id: str) -> dict[str, Any] | None:
    return next((p for p in conversation["participants"] if p["id"] == participant_id), None)


def queue_join(conversation: dict[str, Any]) -> dict[str, Any]:
    """An acd participant: the conversation waits in the queue."""
    acd = _participant("acd", QUEUE_NAME, queue_id=QUEUE_ID, queue_name=QUEUE_NAME)
    acd["connected_time"] = None
    conversation["participants"].append(acd)
    return acd


def agent_join(
    conversation: dict[str, Any], user: dict[str, Any], acd: dict[str, Any]
) -> dict[str, Any]:
    """The queue hands the conversation to an agent: acd ends with 'transfer', agent connects."""
    _end_participant(acd, "transfer")
    agent = _participant(
        "agent",
        user["name"],
        user_id=user["id"],
        queue_id=QUEUE_ID,
        queue_name=QUEUE_NAME,
    )
    conversation["participants"].append(agent)
    return agent


def agent_leave(agent: dict[str, Any], disconnect_type: str) -> None:
    _end_participant(agent, disconnect_type)


def conversation_end(conversation: dict[str, Any], *, customer_disconnect_type: str) -> None:
    """Every participant leaves; the conversation is disconnected."""
    for participant in conversation["participants"]:
        disconnect_type = (
            customer_disconnect_type if participant["purpose"] == "customer" else "peer"
        )
        _end_participant(participant, disconnect_type)
    conversation["state"] = "disconnected"
    conversation["end_time"] = now_iso()


def transfer_record(
    conversation: dict[str, Any], *, from_user: str | None, to_user: dict[str, Any]
) -> None:
    conversation["recent_transfers"] = [
        *conversation["recent_transfers"],
        {
            "id": str(uuid.uuid4()),
            "state": "Complete",
            "dateIssued": now_iso(),
            "initiator": {"userId": from_user} if from_user else None,
            "transferType": "Unattended",
            "destination": {"userId": to_user["id"]},
        },
    ][-20:]


def message_add(
    conversation: dict[str, Any],
    *,
    direction: str,
    normalized: dict[str, Any],
    participant_id: str,
    provider_message_id: str | None = None,
    status: str,
) -> dict[str, Any]:
    message = {
        "id": normalized["id"],
        "provider_message_id": provider_message_id,
        "direction": direction,
        "timestamp": now_iso(),
        "status": status,
        "normalized": normalized,
        "receipts": [],
        "participant_id": participant_id,
    }
    conversation["messages"].append(message)
    return message


def message_find(state: State, message_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for conversation in state.conversations.values():
        for message in conversation["messages"]:
            if message["id"] == message_id:
                return conversation, message
    return None


def receipt_record(message: dict[str, Any], receipt: dict[str, Any]) -> None:
    """Attach a receipt from the gateway to the outbound message it is about."""
    message["receipts"].append(receipt)
    message["status"] = RECEIPT_STATUS.get(receipt["status"], message["status"])


# ----- views -----------------------------------------------------------------------------


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _message_details(conversation: dict[str, Any], participant_id: str) -> list[dict[str, Any]]:
    return [
        {
            "messageId": message["id"],
            "messageURI": (
                f"/api/v2/conversations/messages/{conversation['id']}/messages/{message['id']}"
            ),
            "messageStatus": message["status"],
            "messageSegmentCount": 1,
            "messageTime": message["timestamp"],
        }
        for message in conversation["messages"]
        if message["participant_id"] == participant_id
    ]


def _communication(conversation: dict[str, Any], participant: dict[str, Any]) -> dict[str, Any]:
    return _drop_none(
        {
            "state": participant["state"],
            "initialState": "alerting" if participant["purpose"] != "customer" else "connected",
            "id": participant["communication_id"],
            "direction": participant["direction"],
            "connectedTime": participant["connected_time"],
            "disconnectedTime": participant["end_time"],
            "disconnectType": participant["disconnect_type"],
            "provider": PROVIDER,
            "type": "open",
            "messages": _message_details(conversation, participant["id"]) or None,
        }
    )


def conversation_view(conversation: dict[str, Any]) -> dict[str, Any]:
    """Conversation (GET /api/v2/conversations/{id})."""
    participants = []
    for participant in conversation["participants"]:
        user_id = participant["user_id"]
        participants.append(
            _drop_none(
                {
                    "id": participant["id"],
                    "startTime": participant["start_time"],
                    "endTime": participant["end_time"],
                    "connectedTime": participant["connected_time"],
                    "name": participant["name"],
                    "userId": user_id,
                    "userUri": f"/api/v2/users/{user_id}" if user_id else None,
                    "queueId": participant["queue_id"],
                    "queueName": participant["queue_name"],
                    "purpose": participant["purpose"],
                    "participantType": participant["participant_type"],
                    "wrapupRequired": participant["wrapup_required"],
                    "attributes": participant["attributes"],
                    "messages": [_communication(conversation, participant)],
                }
            )
        )
    return _drop_none(
        {
            "id": conversation["id"],
            "startTime": conversation["start_time"],
            "endTime": conversation["end_time"],
            "address": conversation["customer"]["id"],
            "participants": participants,
            "recordingState": "NONE",
            "state": conversation["state"],
            "divisions": [
                {
                    "division": {
                        "id": DIVISION_ID,
                        "selfUri": f"/api/v2/authorization/divisions/{DIVISION_ID}",
                    },
                    "entities": [{"id": QUEUE_ID, "selfUri": f"/api/v2/routing/queues/{QUEUE_ID}"}],
                }
            ],
            "recentTransfers": [_drop_none(t) for t in conversation["recent_transfers"]],
            "securePause": False,
            "selfUri": f"/api/v2/conversations/{conversation['id']}",
        }
    )


def message_conversation_view(conversation: dict[str, Any]) -> dict[str, Any]:
    """MessageConversation (GET /api/v2/conversations/messages/{id})."""
    customer_id = conversation["customer"]["id"]
    integration_id = conversation["integration_id"]
    participants = []
    for participant in conversation["participants"]:
        user_id, queue_id = participant["user_id"], participant["queue_id"]
        participants.append(
            _drop_none(
                {
                    "id": participant["id"],
                    "name": participant["name"],
                    "address": customer_id if participant["purpose"] == "customer" else None,
                    "startTime": participant["start_time"],
                    "connectedTime": participant["connected_time"],
                    "endTime": participant["end_time"],
                    "purpose": participant["purpose"],
                    "state": participant["state"],
                    "direction": participant["direction"],
                    "disconnectType": participant["disconnect_type"],
                    "held": False,
                    "wrapupRequired": participant["wrapup_required"],
                    "user": {"id": user_id, "selfUri": f"/api/v2/users/{user_id}"}
                    if user_id
                    else None,
                    "queue": {"id": queue_id, "selfUri": f"/api/v2/routing/queues/{queue_id}"}
                    if queue_id
                    else None,
                    "attributes": participant["attributes"],
                    "provider": PROVIDER,
                    "toAddress": {"addressNormalized": integration_id},
                    "fromAddress": {"addressNormalized": customer_id},
                    "messages": _message_details(conversation, participant["id"]),
                    "type": "open",
                }
            )
        )
    return {
        "id": conversation["id"],
        "participants": participants,
        "recentTransfers": [_drop_none(t) for t in conversation["recent_transfers"]],
        "selfUri": f"/api/v2/conversations/messages/{conversation['id']}",
    }


def _button_text(normalized: dict[str, Any]) -> str | None:
    """A structured response has no text of its own: its button's label stands for it."""
    for item in normalized.get("content") or []:
        if item.get("contentType") == "ButtonResponse":
            return item.get("buttonResponse", {}).get("text")
    return None


def message_data_view(conversation: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """MessageData (one entity of POST .../messages/bulk)."""
    customer_id = conversation["customer"]["id"]
    integration_id = conversation["integration_id"]
    inbound = message["direction"] == "inbound"
    normalized = message["normalized"]
    return _drop_none(
        {
            "id": message["id"],
            "providerMessageId": message["provider_message_id"],
            "timestamp": message["timestamp"],
            "fromAddress": customer_id if inbound else integration_id,
            "toAddress": integration_id if inbound else customer_id,
            "direction": message["direction"],
            "messengerType": "open",
            "status": message["status"],
            "textBody": normalized.get("text") or _button_text(normalized),
            "normalizedMessage": normalized,
            "normalizedReceipts": message["receipts"] or None,
            "conversationId": conversation["id"],
            "selfUri": (
                f"/api/v2/conversations/messages/{conversation['id']}/messages/{message['id']}"
            ),
        }
    )

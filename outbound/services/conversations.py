"""Reading and steering Genesys messaging conversations."""

from typing import Any

from outbound.errors import ConversationOfAnotherTenant, CustomerParticipantNotFound
from outbound.genesys.answers import answer_object, answer_objects
from outbound.services.access import genesys_client
from outbound.services.times import genesys_time_parse
from tenants.models import Tenant
from tenants.selectors import conversation_get as routed_conversation_get

# Genesys takes at most this many ids in one bulk messages request.
BULK_MESSAGES_MAX = 1000


def _participant(participant: dict[str, Any]) -> dict[str, Any]:
    state = participant.get("state")
    if state is None:
        # The generic conversation keeps the state on each communication; the latest counts.
        communications = answer_objects(participant.get("messages"), field="messages")
        state = communications[-1].get("state") if communications else None
    return {
        "id": participant.get("id"),
        "purpose": participant.get("purpose"),
        "name": participant.get("name"),
        "user_id": participant.get("userId")
        or answer_object(participant.get("user"), field="user").get("id"),
        "queue_id": participant.get("queueId")
        or answer_object(participant.get("queue"), field="queue").get("id"),
        "state": state,
        "attributes": participant.get("attributes") or {},
    }


def conversation_require_not_foreign(*, tenant: Tenant, conversation_id: str) -> None:
    """Refuse, before asking Genesys, a conversation the routing map gives another tenant.

    This tenant's Genesys organisation could only answer 404 for it; not asking keeps
    another tenant's conversation ids out of this tenant's Genesys calls altogether. A
    conversation the map does not know (one an agent started, say) is asked for.
    """
    routed = routed_conversation_get(conversation_id=conversation_id)
    if routed is not None and routed.tenant_id != tenant.pk:
        raise ConversationOfAnotherTenant("The requested conversation was not found.")


def conversation_get(*, tenant: Tenant, conversation_id: str) -> dict[str, Any]:
    conversation_require_not_foreign(tenant=tenant, conversation_id=conversation_id)
    data = genesys_client(tenant=tenant).get_conversation(conversation_id=conversation_id)
    return {
        "id": data.get("id") or conversation_id,
        "state": data.get("state"),
        "start_time": genesys_time_parse(data.get("startTime")),
        "end_time": genesys_time_parse(data.get("endTime")),
        "participants": [
            _participant(p) for p in answer_objects(data.get("participants"), field="participants")
        ],
    }


def _message_item(data: dict[str, Any]) -> dict[str, Any]:
    normalized = answer_object(data.get("normalizedMessage"), field="normalizedMessage")
    attachments = []
    for content in answer_objects(normalized.get("content"), field="content"):
        attachment = answer_object(content.get("attachment"), field="attachment")
        if content.get("contentType") == "Attachment" and attachment:
            attachments.append(
                {
                    "url": attachment.get("url"),
                    "media_type": attachment.get("mediaType"),
                    "mime": attachment.get("mime"),
                    "filename": attachment.get("filename"),
                }
            )
    return {
        "id": data.get("id"),
        "direction": data.get("direction"),
        "text": normalized.get("text") or data.get("textBody"),
        "attachments": attachments,
        "timestamp": genesys_time_parse(data.get("timestamp")),
        "status": data.get("status"),
    }


def conversation_messages_list(*, tenant: Tenant, conversation_id: str) -> dict[str, Any]:
    """The conversation's messages, oldest first."""
    conversation_require_not_foreign(tenant=tenant, conversation_id=conversation_id)
    client = genesys_client(tenant=tenant)
    conversation = client.get_message_conversation(conversation_id=conversation_id)
    message_ids: dict[str, None] = {}  # ordered and unique
    for participant in answer_objects(conversation.get("participants"), field="participants"):
        for details in answer_objects(participant.get("messages"), field="messages"):
            if details.get("messageId"):
                message_ids[details["messageId"]] = None
    ids = list(message_ids)
    items: list[dict[str, Any]] = []
    for start in range(0, len(ids), BULK_MESSAGES_MAX):
        listing = client.get_messages_bulk(
            conversation_id=conversation_id, message_ids=ids[start : start + BULK_MESSAGES_MAX]
        )
        entities = answer_objects(listing.get("entities"), field="entities")
        items += [_message_item(entity) for entity in entities]
    # Every timestamp is aware (or None), so they compare; undated messages go last.
    dated = sorted((i for i in items if i["timestamp"]), key=lambda item: item["timestamp"])
    return {"items": dated + [i for i in items if not i["timestamp"]]}


def conversation_attributes_update(
    *, tenant: Tenant, conversation_id: str, attributes: dict[str, str]
) -> dict[str, Any]:
    """Merge attributes into the customer participant's."""
    conversation_require_not_foreign(tenant=tenant, conversation_id=conversation_id)
    client = genesys_client(tenant=tenant)
    conversation = client.get_message_conversation(conversation_id=conversation_id)
    customer = next(
        (
            p
            for p in answer_objects(conversation.get("participants"), field="participants")
            if p.get("purpose") == "customer"
        ),
        None,
    )
    if customer is None or not customer.get("id"):
        raise CustomerParticipantNotFound(
            f"Conversation {conversation_id} has no customer participant."
        )
    answer = client.patch_participant_attributes(
        conversation_id=conversation_id, participant_id=customer["id"], attributes=attributes
    )
    merged = answer.get("attributes") if isinstance(answer, dict) else None
    if not isinstance(merged, dict):
        known = answer_object(customer.get("attributes"), field="attributes")
        merged = {**known, **attributes}
    return {
        "conversation_id": conversation_id,
        "participant_id": customer["id"],
        "attributes": merged,
    }


def conversation_disconnect(*, tenant: Tenant, conversation_id: str) -> dict[str, Any]:
    conversation_require_not_foreign(tenant=tenant, conversation_id=conversation_id)
    genesys_client(tenant=tenant).disconnect_message_conversation(conversation_id=conversation_id)
    return {"conversation_id": conversation_id, "state": "disconnected"}

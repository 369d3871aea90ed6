"""Customer messages, replies, delivery receipts and typing, sent to Genesys Open Messaging.

Request bodies follow the SDK models OpenInboundNormalizedMessage,
OpenInboundStructuredResponseMessage, OpenInboundNormalizedReceipt and
OpenInboundNormalizedEvent (tests check field names). docs/api.md describes each mapping.
"""

from datetime import datetime
from typing import Any

import structlog
from django.db import transaction

from outbound.cache import CONVERSATIONS
from outbound.genesys import DatabaseRateLimiter, GenesysClient, GenesysPermanentError
from outbound.metrics import GENESYS_RECEIPTS_FAILED
from outbound.models import InboundMessage, InboundReceipt
from outbound.services.access import genesys_client
from outbound.services.idempotency import delivery_claim, delivery_complete, delivery_release
from outbound.services.integrations import integration_resolve
from outbound.services.times import genesys_time
from tenants.models import Integration, Tenant
from tenants.services import conversation_record

logger = structlog.get_logger(__name__)

# WhatsApp status -> (Genesys receipt status, isFinalReceipt), or None: recorded, never
# sent. Genesys' receipt endpoint accepts only Delivered and Failed, so `sent` stays
# here; a read message was delivered and nothing more will follow, so `read` is a final
# `Delivered`; `delivered` is not final because `read` may follow.
RECEIPT_STATUSES: dict[str, tuple[str, bool] | None] = {
    "sent": None,
    "delivered": ("Delivered", False),
    "read": ("Delivered", True),
    "failed": ("Failed", True),
}
# What a customer's tap can answer: Genesys' ContentButtonResponse types.
REPLY_TYPES = ("QuickReply", "Button", "DatePicker")

# WhatsApp Cloud API error code -> Genesys ConversationReason code (docs/api.md has the
# table with reasons). Anything else becomes GeneralError.
WHATSAPP_ERROR_REASONS: dict[str, str] = {
    "131047": "MessageExpired",  # re-engagement: outside the 24-hour customer service window
    "131026": "InvalidDestination",  # undeliverable: not a WhatsApp user, old app, ...
    "131021": "InvalidDestination",  # recipient cannot be the sender
    "130429": "RateLimited",  # Cloud API throughput reached
    "131048": "RateLimited",  # spam rate limit
    "131056": "RateLimited",  # too many messages to one user (pair rate limit)
    "131051": "UnsupportedMessage",  # unsupported message type
    "131052": "MediaTypeNotAllowed",  # media download error
    "131053": "MediaTypeNotAllowed",  # media upload error (type or size not accepted)
    "131049": "MessageNotAllowed",  # held back for ecosystem health
    "131031": "MessageNotAllowed",  # business account locked
    "131050": "RecipientOptedOut",  # user stopped marketing messages
    "131008": "InvalidMessageStructure",  # required parameter missing
    "131009": "InvalidMessageStructure",  # parameter value invalid
    "131000": "ServerError",  # something went wrong
    "131016": "ServerError",  # service unavailable
}
DEFAULT_REASON = "GeneralError"
# How long Genesys shows the customer as typing; WhatsApp sends no "stopped" event.
TYPING_DURATION_MS = 5000


def _recipient(person: dict[str, Any]) -> dict[str, str]:
    """Our {id, id_type, nickname, first_name, last_name} as Genesys' recipient object."""
    recipient = {"id": person["id"], "idType": person.get("id_type") or "Phone"}
    for ours, theirs in (
        ("nickname", "nickname"),
        ("first_name", "firstName"),
        ("last_name", "lastName"),
    ):
        if person.get(ours):
            recipient[theirs] = person[ours]
    return recipient


def message_body(
    *,
    message_id: str,
    sender: dict[str, Any],
    text: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    metadata: dict[str, str] | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """An OpenInboundNormalizedMessage."""
    body: dict[str, Any] = {
        "channel": {
            "messageId": message_id,
            "time": genesys_time(timestamp),
            "from": _recipient(sender),
        }
    }
    if text:
        body["text"] = text
    if attachments:
        content = []
        for attachment in attachments:
            item = {
                "mediaType": attachment["media_type"],
                "url": attachment["url"],
                "mime": attachment["mime"],
            }
            for key in ("filename", "sha256"):
                if attachment.get(key):
                    item[key] = attachment[key]
            content.append({"attachment": item})
        body["content"] = content
    if metadata:
        body["metadata"] = dict(metadata)
    return body


def structured_response_body(
    *,
    message_id: str,
    sender: dict[str, Any],
    reply: dict[str, Any],
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """An OpenInboundStructuredResponseMessage: the customer tapped an agent's choice."""
    button: dict[str, str] = {"type": reply["type"], "payload": reply["payload"]}
    if reply.get("text"):
        button["text"] = reply["text"]
    return {
        "channel": {
            "messageId": message_id,
            "time": genesys_time(timestamp),
            "from": _recipient(sender),
        },
        "buttonResponse": button,
        "originatingMessageId": reply["reply_to"],
    }


def _database_limiter(client: GenesysClient | None) -> DatabaseRateLimiter | None:
    """The client's limiter when the claim can reserve its call in the same statement."""
    limiter = client.rate_limiter if client is not None else None
    return limiter if isinstance(limiter, DatabaseRateLimiter) else None


def _message_result(row: InboundMessage) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "genesys_message_id": row.genesys_message_id,
        "conversation_id": row.conversation_id or None,
        "integration_id": row.integration.integration_id if row.integration else None,
    }


def message_send(
    *,
    tenant: Tenant,
    message_id: str,
    sender: dict[str, Any],
    text: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    reply: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
    timestamp: datetime | None = None,
    integration_id: str | None = None,
    genesys: GenesysClient | None = None,
    claim_wait_s: float | None = None,
) -> tuple[dict[str, Any], bool]:
    """Send a customer message (or reply) once per (tenant, message_id); (result, first?).

    The asynchronous worker passes its own `genesys` client and `claim_wait_s`=0.
    """
    integration = integration_resolve(tenant=tenant, integration_id=integration_id)
    client = genesys or genesys_client(tenant=tenant)
    row, claimed = delivery_claim(
        model=InboundMessage,
        lookup={"tenant": tenant, "message_id": message_id},
        defaults={"integration": integration},
        wait_s=claim_wait_s,
        limiter=_database_limiter(client),
    )
    if not claimed:
        return _message_result(row), False
    if reply:
        body = structured_response_body(
            message_id=message_id, sender=sender, reply=reply, timestamp=timestamp
        )
    else:
        content: dict[str, Any] = {"text": text, "attachments": attachments, "metadata": metadata}
        body = message_body(message_id=message_id, sender=sender, timestamp=timestamp, **content)
    send = client.send_inbound_structured_response if reply else client.send_inbound_message
    try:
        answer = send(integration_id=integration.integration_id, message=body)
        genesys_message_id = str(answer.get("id") or "") if isinstance(answer, dict) else ""
        if not genesys_message_id:
            raise GenesysPermanentError("Genesys accepted the message but returned no id")
    except Exception:
        # Never leave the message id blocked: the caller may simply try again.
        delivery_release(row=row)
        raise
    _message_record(
        tenant=tenant,
        row=row,
        integration=integration,
        genesys_message_id=genesys_message_id,
        conversation_id=str(answer.get("conversationId") or ""),
        customer_id=sender["id"],
    )
    return _message_result(row), True


def _message_record(
    *,
    tenant: Tenant,
    row: InboundMessage,
    integration: Integration,
    genesys_message_id: str,
    conversation_id: str,
    customer_id: str,
) -> None:
    """Store Genesys' answer: repeats now get it, and the conversation maps to the tenant."""
    result = {
        "integration": integration,
        "genesys_message_id": genesys_message_id,
        "conversation_id": conversation_id,
    }
    if not conversation_id or CONVERSATIONS.get((tenant.pk, conversation_id)):
        # One UPDATE on its own needs no transaction: BEGIN and COMMIT would be two more
        # round trips to the database on every message.
        delivery_complete(row=row, **result)
        return
    # The webhook side resolves tenants by conversation id through this map; a
    # conversation this process has mapped already needs no second write.
    with transaction.atomic():
        conversation_record(
            tenant=tenant,
            conversation_id=conversation_id,
            integration=integration,
            customer_id=customer_id,
        )
        transaction.on_commit(lambda: CONVERSATIONS.put((tenant.pk, conversation_id), True))
        delivery_complete(row=row, **result)


def receipt_body(
    *,
    message_id: str,
    status: str,
    recipient: dict[str, Any],
    timestamp: datetime | None = None,
    reason: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An OpenInboundNormalizedReceipt for a WhatsApp status that Genesys takes."""
    mapping = RECEIPT_STATUSES[status]
    if mapping is None:
        raise ValueError(f"WhatsApp status {status!r} is not sent to Genesys")
    genesys_status, final = mapping
    body: dict[str, Any] = {
        "id": message_id,
        "channel": {"to": _recipient(recipient), "time": genesys_time(timestamp)},
        "status": genesys_status,
    }
    if genesys_status == "Failed":
        code = str((reason or {}).get("code") or "")
        message = str((reason or {}).get("message") or "")
        description = f"WhatsApp {code}: {message}" if code else message or "Delivery failed"
        body["reasons"] = [
            {"code": WHATSAPP_ERROR_REASONS.get(code, DEFAULT_REASON), "message": description}
        ]
    if final:
        body["isFinalReceipt"] = True
    return body


def receipt_send(
    *,
    tenant: Tenant,
    message_id: str,
    status: str,
    recipient: dict[str, Any],
    timestamp: datetime | None = None,
    reason: dict[str, Any] | None = None,
    integration_id: str | None = None,
    genesys: GenesysClient | None = None,
    claim_wait_s: float | None = None,
) -> dict[str, Any]:
    """Forward a delivery status once per (tenant, message_id, status).

    A status Genesys does not take (`sent`) is recorded, so repeats are duplicates as for
    any other, and answered with `genesys_status` None.
    """
    integration = integration_resolve(tenant=tenant, integration_id=integration_id)
    mapping = RECEIPT_STATUSES[status]
    result = {
        "message_id": message_id,
        "status": status,
        "genesys_status": mapping[0] if mapping else None,
    }
    # A status that is only recorded makes no Genesys call, so it reserves none.
    client = None if mapping is None else genesys or genesys_client(tenant=tenant)
    row, claimed = delivery_claim(
        model=InboundReceipt,
        lookup={"tenant": tenant, "message_id": message_id, "status": status},
        wait_s=claim_wait_s,
        limiter=_database_limiter(client),
    )
    if not claimed:
        return {**result, "duplicate": True}
    if client is None:
        delivery_complete(row=row)
        return {**result, "duplicate": False}
    body = receipt_body(
        message_id=message_id,
        status=status,
        recipient=recipient,
        timestamp=timestamp,
        reason=reason,
    )
    try:
        answer = client.send_inbound_receipt(
            integration_id=integration.integration_id, receipt=body
        )
    except Exception:
        delivery_release(row=row)
        raise
    delivery_complete(row=row)
    receipt_answer_check(answer=answer, sent=body, tenant=tenant, context_id=client.last_context_id)
    return {**result, "duplicate": False}


def receipt_answer_check(
    *, answer: Any, sent: dict[str, Any], tenant: Tenant, context_id: str
) -> bool:
    """Log and count a receipt Genesys took (2xx) but answered as Failed; True if so.

    Genesys answers with the receipt as it recorded it (an OpenReceiptNormalizedMessage).
    A `Failed` answer to a `Delivered` receipt means it could not apply it; the call is
    not retried, since repeating the same receipt would fail the same way.
    """
    if not isinstance(answer, dict) or answer.get("status") != "Failed":
        return False
    if sent["status"] == "Failed":
        return False  # Genesys echoes our own Failed receipt
    reasons = answer.get("reasons")
    if not isinstance(reasons, list):
        reasons = []
    logger.warning(
        "genesys_receipt_failed",
        tenant=tenant.slug,
        message_id=sent["id"],
        receipt_status=sent["status"],
        genesys_context_id=context_id,
        reasons=[
            {"code": reason.get("code"), "message": reason.get("message")}
            for reason in reasons
            if isinstance(reason, dict)
        ],
    )
    GENESYS_RECEIPTS_FAILED.inc()
    return True


def typing_body(*, sender: dict[str, Any]) -> dict[str, Any]:
    """An OpenInboundNormalizedEvent saying the customer is typing."""
    return {
        "channel": {"from": _recipient(sender), "time": genesys_time(None)},
        "events": [
            {"eventType": "Typing", "typing": {"type": "On", "duration": TYPING_DURATION_MS}}
        ],
    }


def typing_send(
    *,
    tenant: Tenant,
    sender: dict[str, Any],
    integration_id: str | None = None,
    genesys: GenesysClient | None = None,
) -> dict[str, Any]:
    integration = integration_resolve(tenant=tenant, integration_id=integration_id)
    (genesys or genesys_client(tenant=tenant)).send_inbound_event(
        integration_id=integration.integration_id, event=typing_body(sender=sender)
    )
    return {"integration_id": integration.integration_id}

"""Accepting requests for asynchronous delivery (`Prefer: respond-async`).

Validation is the synchronous path's (the view's serializer and integration_resolve);
what is stored is exactly what the worker will hand to message_send / receipt_send /
typing_send (outbound/services/deliveries.py).
"""

import uuid
from typing import Any

from outbound.models import QueuedKind
from outbound.services.deliveries import delivery_enqueue
from outbound.services.delivery_state import delivery_state_body
from outbound.services.integrations import integration_resolve
from outbound.services.messages import RECEIPT_STATUSES
from tenants.models import Tenant


def _customer_key(integration_id: str, customer_id: str) -> str:
    return f"{integration_id}/{customer_id}"


def message_accept(
    *, tenant: Tenant, sender: dict[str, Any], **fields: Any
) -> tuple[dict[str, Any], bool]:
    """Queue a customer message; (its state, first time?). A repeat changes nothing."""
    integration = integration_resolve(tenant=tenant, integration_id=fields.get("integration_id"))
    fields["integration_id"] = integration.integration_id
    accepted = delivery_enqueue(
        tenant=tenant,
        kind=QueuedKind.MESSAGE,
        key=fields["message_id"],
        customer_key=_customer_key(integration.integration_id, sender["id"]),
        payload={**fields, "sender": sender},
    )
    return delivery_state_body(accepted.delivery), accepted.created


def receipt_accept(*, tenant: Tenant, recipient: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Queue a delivery status; once per (message_id, status)."""
    integration = integration_resolve(tenant=tenant, integration_id=fields.get("integration_id"))
    fields["integration_id"] = integration.integration_id
    accepted = delivery_enqueue(
        tenant=tenant,
        kind=QueuedKind.RECEIPT,
        key=f"{fields['message_id']}:{fields['status']}",
        customer_key=_customer_key(integration.integration_id, recipient["id"]),
        payload={**fields, "recipient": recipient},
    )
    mapping = RECEIPT_STATUSES[fields["status"]]
    return {
        "message_id": fields["message_id"],
        "status": fields["status"],
        "genesys_status": mapping[0] if mapping else None,
        "duplicate": not accepted.created,
        "state": accepted.delivery.state,
    }


def typing_accept(
    *, tenant: Tenant, sender: dict[str, Any], integration_id: str | None = None
) -> dict[str, Any]:
    """Queue a typing indicator, in order with the customer's messages."""
    integration = integration_resolve(tenant=tenant, integration_id=integration_id)
    accepted = delivery_enqueue(
        tenant=tenant,
        kind=QueuedKind.TYPING,
        key=str(uuid.uuid4()),  # typing has no id of its own; every one is new
        customer_key=_customer_key(integration.integration_id, sender["id"]),
        payload={"sender": sender, "integration_id": integration.integration_id},
    )
    return {"integration_id": integration.integration_id, "state": accepted.delivery.state}

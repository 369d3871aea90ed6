"""End to end: WhatsApp platform -> gateway -> Genesys (emulator) -> gateway webhooks ->
outbox -> relay -> RabbitMQ, and back, over real HTTP on PostgreSQL and RabbitMQ.

What it shows: customer message in -> agent reply -> CloudEvent on a real queue, and the
receipt back to the emulator; every request the emulator received is valid for the SDK
models.

The numbered comments are the steps of the loop: 1 verify, 2 customer message, 3 agent
reply, 4 receipt, 5 typing and disconnect, 6 read-back and attributes, 7 SDK validity;
6 runs before 5 because Genesys ends the conversation at the disconnect. The emulator's
request log also holds this test's own inspection GETs (no body, so `valid` is None).
"""

import math
import threading
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings

from outbound.services import tenant_verify
from tenants.models import Conversation, Tenant
from tests.e2e.conftest import (
    INTEGRATION_ID,
    ORG_ID,
    EmulatorClient,
    Events,
    Gateway,
    poll,
)

CUSTOMER = "+15550123456"
WAMID = "wamid.HBgLMTU1NTAxMjM0NTYVAgASGBQzQUI1RjE2QzYxRTIwQjQ2QkY1OQA="
INBOUND_MESSAGE = f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/message"
INBOUND_RECEIPT = f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/receipt"

pytestmark = pytest.mark.django_db(transaction=True)


def assert_cloud_event(
    message: Any, event: dict[str, Any], *, slug: str, event_type: str, subject: str
) -> None:
    """docs/events.md, "The envelope": routing key, AMQP properties and CloudEvents attributes."""
    assert message.delivery_info["routing_key"] == f"{event_type}.{slug}"
    assert message.delivery_info["exchange"] == settings.EVENTS_EXCHANGE
    assert message.properties["message_id"] == event["id"]
    assert message.properties["delivery_mode"] == 2
    assert message.properties["content_type"] == "application/cloudevents+json"
    assert message.properties["application_headers"]["tenant"] == slug
    assert event["specversion"] == "1.0"
    assert event["type"] == event_type
    assert event["source"] == f"genesys-gateway/{slug}"
    assert event["subject"] == subject
    assert event["tenant"] == slug
    assert datetime.fromisoformat(event["time"].replace("Z", "+00:00")).tzinfo is not None


def test_customer_message_agent_reply_receipt_and_disconnect(
    gateway: Gateway,
    emulator_client: EmulatorClient,
    events: Events,
    relay: threading.Thread,
    e2e_tenant: Tenant,
) -> None:
    slug = e2e_tenant.slug

    # 1. tenant verify: a fresh token and the organisation, from the emulator.
    organization = tenant_verify(tenant=e2e_tenant)
    e2e_tenant.refresh_from_db()
    assert organization["id"] == ORG_ID
    assert e2e_tenant.organization_id == ORG_ID
    assert e2e_tenant.verified_at is not None

    # 2. The customer writes on WhatsApp; the platform posts it to the gateway.
    inbound = {
        "message_id": WAMID,
        "from": {
            "id": CUSTOMER,
            "id_type": "Phone",
            "nickname": "Maria Lopez",
            "first_name": "Maria",
            "last_name": "Lopez",
        },
        "text": "Hi, I need help with my order #4821",
        "metadata": {"waPhoneNumberId": "106540352242922"},
    }
    first = gateway.call("POST", "messages", json=inbound)
    assert first.status_code == 201, first.text
    created = first.json()
    genesys_inbound_id = created["genesys_message_id"]
    conversation_id = created["conversation_id"]
    assert genesys_inbound_id
    assert conversation_id
    assert created["integration_id"] == INTEGRATION_ID
    assert created["message_id"] == WAMID

    conversations = emulator_client.inspect("conversations")["entities"]
    assert [(c["id"], c["customer_id"], c["state"]) for c in conversations] == [
        (conversation_id, CUSTOMER, "connected")
    ]
    agent_user_id = conversations[0]["agent_user_id"]
    assert agent_user_id, "the emulator routed the conversation to an agent"
    assert Conversation.objects.get(conversation_id=conversation_id).tenant_id == e2e_tenant.pk

    repeat = gateway.call("POST", "messages", json=inbound)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json() == created
    assert len(emulator_client.requests(INBOUND_MESSAGE)) == 1, "a repeat reached Genesys"

    # 3. The agent replies; Genesys calls the Open Messaging webhook; the relay publishes.
    reply = emulator_client.control(f"conversations/{conversation_id}/reply", {"text": "hello"})
    [reply_delivery] = reply["deliveries"]
    agent_message_id = reply_delivery["payload"]["id"]

    message, event = events.next()
    assert_cloud_event(
        message, event, slug=slug, event_type="message.outbound", subject=conversation_id
    )
    assert event["id"] == agent_message_id
    assert event["data"]["text"] == "hello"
    assert event["data"]["customer_id"] == CUSTOMER
    assert event["data"]["integration_id"] == INTEGRATION_ID
    assert event["data"]["conversation_id"] == conversation_id

    # 4. WhatsApp reports the reply delivered; the gateway sends the receipt to Genesys.
    message_path = f"/api/v2/conversations/messages/{conversation_id}/messages/{agent_message_id}"
    before = emulator_client.genesys_get(message_path)
    assert before["status"] != "delivery-success"
    receipt = gateway.call(
        "POST",
        "receipts",
        json={"message_id": agent_message_id, "status": "delivered", "to": {"id": CUSTOMER}},
    )
    assert receipt.status_code == 202, receipt.text
    assert receipt.json()["genesys_status"] == "Delivered"
    [receipt_request] = emulator_client.requests(INBOUND_RECEIPT)
    assert receipt_request["method"] == "POST"
    assert receipt_request["valid"] is True, receipt_request["issues"]
    assert receipt_request["status"] == 200
    assert receipt_request["body"]["id"] == agent_message_id
    assert receipt_request["body"]["status"] == "Delivered"
    after = emulator_client.genesys_get(message_path)
    assert after["status"] == "delivery-success"
    assert [r["status"] for r in after["normalizedReceipts"]] == ["Delivered"]

    # 6. The conversation read back through the gateway.
    details = gateway.call("GET", f"conversations/{conversation_id}")
    assert details.status_code == 200, details.text
    assert details.json()["id"] == conversation_id
    purposes = {p["purpose"] for p in details.json()["participants"]}
    assert {"customer", "agent"} <= purposes
    agent = next(p for p in details.json()["participants"] if p["purpose"] == "agent")
    assert agent["user_id"] == agent_user_id

    history = gateway.call("GET", f"conversations/{conversation_id}/messages")
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [(m["id"], m["direction"], m["text"]) for m in items] == [
        (genesys_inbound_id, "inbound", inbound["text"]),
        (agent_message_id, "outbound", "hello"),
    ]
    assert items[0]["timestamp"] <= items[1]["timestamp"]
    assert items[1]["status"] == "delivery-success"

    patched = gateway.call(
        "PATCH",
        f"conversations/{conversation_id}/attributes",
        json={"attributes": {"tier": "gold"}},
    )
    assert patched.status_code == 200, patched.text
    patched = gateway.call(
        "PATCH", f"conversations/{conversation_id}/attributes", json={"attributes": {"lang": "es"}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["attributes"] == {"tier": "gold", "lang": "es"}
    genesys_view = emulator_client.genesys_get(f"/api/v2/conversations/{conversation_id}")
    [customer] = [p for p in genesys_view["participants"] if p["purpose"] == "customer"]
    assert customer["id"] == patched.json()["participant_id"]
    assert customer["attributes"] == {"tier": "gold", "lang": "es"}

    active_users = [
        u for u in emulator_client.inspect("users")["entities"] if u["state"] == "active"
    ]
    users = gateway.call("GET", "users", params={"page": 2, "page_size": 50})
    assert users.status_code == 200, users.text
    listing = users.json()
    assert (listing["page"], listing["page_size"]) == (2, 50)
    assert listing["total"] == len(active_users)
    assert listing["page_count"] == math.ceil(len(active_users) / 50)
    assert len(listing["items"]) == 50
    assert {u["id"] for u in listing["items"]} <= {u["id"] for u in active_users}

    user = gateway.call(
        "GET", f"users/{agent_user_id}", params={"expand": "presence,routing_status"}
    )
    assert user.status_code == 200, user.text
    [agent_seen_by_emulator] = [
        u for u in emulator_client.inspect("users")["entities"] if u["id"] == agent_user_id
    ]
    assert user.json()["id"] == agent_user_id
    assert user.json()["presence"]["system_presence"] == agent_seen_by_emulator["presence"]
    assert user.json()["routing_status"]["status"] == agent_seen_by_emulator["routing_status"]

    # 5. The agent types, then leaves: typing via Open Messaging, the rest via notifications.
    emulator_client.control(f"conversations/{conversation_id}/typing")
    message, event = events.next()
    assert_cloud_event(
        message, event, slug=slug, event_type="agent.typing", subject=conversation_id
    )

    emulator_client.control(f"conversations/{conversation_id}/disconnect")
    message, left = events.next()
    assert_cloud_event(
        message, left, slug=slug, event_type="participant.left", subject=conversation_id
    )
    assert left["data"]["conversation_id"] == conversation_id
    assert left["data"]["user_id"] == agent_user_id
    message, ended = events.next()
    assert_cloud_event(
        message, ended, slug=slug, event_type="conversation.disconnected", subject=conversation_id
    )
    assert ended["data"]["conversation_id"] == conversation_id
    poll(
        lambda: (
            Conversation.objects.get(conversation_id=conversation_id).state
            == Conversation.State.DISCONNECTED
        ),
        timeout=5,
        what="the gateway to record the conversation as disconnected",
    )
    assert emulator_client.inspect("conversations")["entities"][0]["state"] == "disconnected"

    # Exactly these five events, each once.
    assert events.extra() == []

    # 7. Everything the gateway sent Genesys was valid for the SDK models, and every webhook
    # Genesys sent was accepted at once.
    received = emulator_client.requests()
    assert received, "the emulator recorded no requests"
    invalid = [r for r in received if r["valid"] is False]
    assert invalid == [], invalid
    for request in received:
        if request["body"] is None:
            assert request["valid"] is None, request
        else:
            assert request["valid"] is True, request
    assert all(r["status"] < 300 for r in received), [
        (r["method"], r["path"], r["status"]) for r in received if r["status"] >= 300
    ]

    deliveries = emulator_client.inspect("deliveries")["entities"]
    kinds = [d["kind"] for d in deliveries]
    assert kinds.count("open-messaging") == 2  # the reply and the typing event
    assert kinds.count("events") == 2  # user.end and customer.end
    for delivery in deliveries:
        assert delivery["outcome"] == "delivered", delivery
        assert [a.get("status") for a in delivery["attempts"]] == [200], delivery

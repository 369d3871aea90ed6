"""Conversation endpoints: what Genesys receives and the shapes docs/api.md gives."""

import json
from typing import Any

import pytest
import responses
from rest_framework.test import APIClient

from tenants import services
from tenants.models import Conversation, Integration, Tenant
from tests.conftest import genesys_example
from tests.outbound.conftest import API, CONVERSATION_ID, problem
from tests.outbound.sdk import sdk_problems

BASE = f"/api/v1/tenants/acme/conversations/{CONVERSATION_ID}"
MESSAGE_CONVERSATION_URL = f"{API}/api/v2/conversations/messages/{CONVERSATION_ID}"
CUSTOMER_ID = "d2b7e4a1-6c93-4f08-8e5d-1a9c3f7b2e60"

MESSAGE_CONVERSATION = {
    "id": CONVERSATION_ID,
    "participants": [
        {
            "id": CUSTOMER_ID,
            "purpose": "customer",
            "state": "connected",
            "attributes": {"orderNumber": "4821"},
            "messages": [
                {"messageId": "m-2", "messageTime": "2026-01-31T12:02:00.000Z"},
                {"messageId": "m-1", "messageTime": "2026-01-31T12:00:00.000Z"},
            ],
        },
        {
            "id": "9f3c7a1e-2b5d-4e86-a0c4-8d6b1e9f2c57",
            "purpose": "agent",
            "user": {"id": "2c6f9e1a-4b7d-4a38-9e05-8d1c3b7f2a64"},
            "messages": [{"messageId": "m-3"}, {"messageId": "m-2"}],
        },
    ],
}


def test_get_conversation_maps_participants(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    upstream = genesys.get(
        f"{API}/api/v2/conversations/{CONVERSATION_ID}", json=genesys_example("conversation.json")
    )
    response = authed_client.get(BASE)
    assert response.status_code == 200
    body = response.json()
    assert upstream.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert body["id"] == CONVERSATION_ID
    assert body["state"] == "connected"
    assert body["start_time"] == "2026-01-31T12:00:00.512Z"
    assert body["end_time"] is None
    assert body["participants"] == [
        {
            "id": CUSTOMER_ID,
            "purpose": "customer",
            "name": "Maria Lopez",
            "user_id": None,
            "queue_id": None,
            "state": "connected",
            "attributes": {"waPhoneNumberId": "106540352242922", "orderNumber": "4821"},
        },
        {
            "id": "5a9d3e7b-1c24-4f8a-b6e0-7d2c5f1a9e43",
            "purpose": "acd",
            "name": "Support WhatsApp",
            "user_id": None,
            "queue_id": "7b2e9c4a-5d13-4a6f-8e07-1c9d3b5f2a86",
            "state": "disconnected",
            "attributes": {},
        },
        {
            "id": "9f3c7a1e-2b5d-4e86-a0c4-8d6b1e9f2c57",
            "purpose": "agent",
            "name": "Alex Rivera",
            "user_id": "2c6f9e1a-4b7d-4a38-9e05-8d1c3b7f2a64",
            "queue_id": "7b2e9c4a-5d13-4a6f-8e07-1c9d3b5f2a86",
            "state": "connected",
            "attributes": {},
        },
    ]


def test_an_unknown_conversation_is_404(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(
        f"{API}/api/v2/conversations/{CONVERSATION_ID}",
        status=404,
        json={"message": "not found", "code": "not.found", "contextId": "ctx-404"},
    )
    response = authed_client.get(BASE)
    assert response.status_code == 404
    body = problem(response)
    assert body["type"].endswith("/genesys-not-found")
    assert body["genesys_context_id"] == "ctx-404"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("get", "/messages", None),
        ("patch", "/attributes", {"attributes": {"tier": "gold"}}),
        ("post", "/disconnect", None),
    ],
)
def test_another_tenants_conversation_is_404_without_asking_genesys(
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    second_tenant: Tenant,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    """The routing map gives the conversation to Globex: Acme's key gets the answer of an
    unknown conversation, and neither Genesys organisation is asked anything."""
    other_integration = services.integration_add(
        tenant=second_tenant,
        integration_id="7a2d3b0f-4c8e-4d2f-8b63-1e9f5c0a3b34",
        secret="globex-webhook-secret-0123456789",
    )
    services.conversation_record(
        tenant=second_tenant,
        conversation_id=CONVERSATION_ID,
        integration=other_integration,
        customer_id="+15550999999",
    )
    response = getattr(authed_client, method)(BASE + suffix, body, format="json")
    assert response.status_code == 404
    found = problem(response)
    assert found["type"].endswith("/genesys-not-found")
    assert found["title"] == "Not found in Genesys Cloud"
    assert len(genesys.calls) == 0
    routed = Conversation.objects.get(conversation_id=CONVERSATION_ID)
    assert routed.tenant_id == second_tenant.pk


def test_a_malformed_conversation_id_never_reaches_genesys(
    authed_client: APIClient, genesys: responses.RequestsMock
) -> None:
    response = authed_client.get("/api/v1/tenants/acme/conversations/..%2F..%2Fusers")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert len(genesys.calls) == 0


def test_messages_are_fetched_in_bulk_and_listed_oldest_first(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(MESSAGE_CONVERSATION_URL, json=MESSAGE_CONVERSATION)
    bulk = genesys.post(
        f"{MESSAGE_CONVERSATION_URL}/messages/bulk",
        json={
            "entities": [
                {
                    "id": "m-3",
                    "direction": "outbound",
                    "timestamp": "2026-01-31T12:04:10.250Z",
                    "status": "delivery-success",
                    "normalizedMessage": {
                        "type": "Text",
                        "text": "Here is the label",
                        "content": [
                            {
                                "contentType": "Attachment",
                                "attachment": {
                                    "mediaType": "Image",
                                    "url": "https://dl.genesys.test/label.png",
                                    "mime": "image/png",
                                    "filename": "label.png",
                                },
                            }
                        ],
                    },
                },
                {
                    "id": "m-1",
                    "direction": "inbound",
                    "timestamp": "2026-01-31T12:00:00.000Z",
                    "status": "received",
                    "normalizedMessage": {"type": "Text", "text": "Hi"},
                },
                {
                    "id": "m-2",
                    "direction": "outbound",
                    "timestamp": "2026-01-31T12:02:00.412Z",
                    "status": "delivery-success",
                    "textBody": "Hello Maria",
                },
            ]
        },
    )
    response = authed_client.get(f"{BASE}/messages")
    assert response.status_code == 200
    [call] = bulk.calls
    assert call.request.url.endswith("/messages/bulk?useNormalizedMessage=true")
    assert json.loads(call.request.body) == ["m-2", "m-1", "m-3"]
    assert response.json() == {
        "items": [
            {
                "id": "m-1",
                "direction": "inbound",
                "text": "Hi",
                "attachments": [],
                "timestamp": "2026-01-31T12:00:00.000Z",
                "status": "received",
            },
            {
                "id": "m-2",
                "direction": "outbound",
                "text": "Hello Maria",
                "attachments": [],
                "timestamp": "2026-01-31T12:02:00.412Z",
                "status": "delivery-success",
            },
            {
                "id": "m-3",
                "direction": "outbound",
                "text": "Here is the label",
                "attachments": [
                    {
                        "url": "https://dl.genesys.test/label.png",
                        "media_type": "Image",
                        "mime": "image/png",
                        "filename": "label.png",
                    }
                ],
                "timestamp": "2026-01-31T12:04:10.250Z",
                "status": "delivery-success",
            },
        ]
    }


def test_messages_with_naive_aware_and_unreadable_times_are_listed_in_time_order(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(MESSAGE_CONVERSATION_URL, json=MESSAGE_CONVERSATION)
    genesys.post(
        f"{MESSAGE_CONVERSATION_URL}/messages/bulk",
        json={
            "entities": [
                {"id": "m-3", "direction": "outbound", "timestamp": "yesterday"},
                # No offset: read as UTC, so it sorts between the two aware times.
                {"id": "m-2", "direction": "outbound", "timestamp": "2026-01-31T12:01:00"},
                {"id": "m-1", "direction": "inbound", "timestamp": "2026-01-31T13:00:00+01:00"},
                {"id": "m-4", "direction": "inbound", "timestamp": "2026-01-31T12:05:00.000Z"},
            ]
        },
    )
    response = authed_client.get(f"{BASE}/messages")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(item["id"], item["timestamp"]) for item in items] == [
        ("m-1", "2026-01-31T12:00:00.000Z"),
        ("m-2", "2026-01-31T12:01:00.000Z"),
        ("m-4", "2026-01-31T12:05:00.000Z"),
        ("m-3", None),
    ]


def test_a_conversation_without_messages_makes_no_bulk_call(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(MESSAGE_CONVERSATION_URL, json={"id": CONVERSATION_ID, "participants": []})
    response = authed_client.get(f"{BASE}/messages")
    assert response.json() == {"items": []}
    assert [c.request.method for c in genesys.calls] == ["POST", "GET"]  # token, conversation


def test_attributes_are_patched_on_the_customer_participant(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(MESSAGE_CONVERSATION_URL, json=MESSAGE_CONVERSATION)
    patch = genesys.patch(
        f"{MESSAGE_CONVERSATION_URL}/participants/{CUSTOMER_ID}/attributes",
        json={"attributes": {"orderNumber": "4821", "tier": "gold"}},
    )
    response = authed_client.patch(
        f"{BASE}/attributes", {"attributes": {"tier": "gold"}}, format="json"
    )
    assert response.status_code == 200
    sent = json.loads(patch.calls[0].request.body)
    assert sent == {"attributes": {"tier": "gold"}}
    assert sdk_problems(sent, "ParticipantAttributes") == []
    assert response.json() == {
        "conversation_id": CONVERSATION_ID,
        "participant_id": CUSTOMER_ID,
        "attributes": {"orderNumber": "4821", "tier": "gold"},
    }


def test_attributes_need_a_customer_participant(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(MESSAGE_CONVERSATION_URL, json={"id": CONVERSATION_ID, "participants": []})
    response = authed_client.patch(f"{BASE}/attributes", {"attributes": {"a": "b"}}, format="json")
    assert response.status_code == 404
    assert problem(response)["type"].endswith("/customer-participant-not-found")


def test_attributes_must_be_a_string_map(authed_client: APIClient) -> None:
    for body in ({}, {"attributes": {}}, {"attributes": {"a": ["b"]}}, {"attributes": "x"}):
        response = authed_client.patch(f"{BASE}/attributes", body, format="json")
        assert response.status_code == 400, body
        assert "attributes" in problem(response)["errors"]


def test_disconnect_patches_the_conversation_state(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    patch = genesys.patch(MESSAGE_CONVERSATION_URL, json={"id": CONVERSATION_ID})
    response = authed_client.post(f"{BASE}/disconnect")
    assert response.status_code == 202
    assert response.json() == {"conversation_id": CONVERSATION_ID, "state": "disconnected"}
    assert json.loads(patch.calls[0].request.body) == {"state": "disconnected"}
    assert patch.calls[0].request.headers["Authorization"] == "Bearer tok-1"

"""POST messages with `reply`: a tap on an agent's choice reaches Genesys as a structured
response (OpenInboundStructuredResponseMessage), idempotent like any message."""

import json
from typing import Any

import pytest
import responses
from rest_framework.test import APIClient

from outbound.models import InboundMessage
from tenants.models import Integration
from tests.outbound.conftest import API, INBOUND_URL, INTEGRATION_ID, problem
from tests.outbound.sdk import sdk_problems

URL = "/api/v1/tenants/acme/messages"
STRUCTURED_URL = (
    f"{API}/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/structured/response"
)
AGENT_MESSAGE_ID = "c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60"
GENESYS_MESSAGE_ID = "5e0f2c8a-1b7d-4e93-a6c4-8d2f1e9b7a30"
REPLY_REQUEST: dict[str, Any] = {
    "message_id": "wamid.reply-1",
    "from": {"id": "+15550123456", "nickname": "Maria Lopez"},
    "reply": {
        "type": "QuickReply",
        "text": "Track my order",
        "payload": "TRACK_ORDER",
        "reply_to": AGENT_MESSAGE_ID,
    },
    "timestamp": "2026-01-31T12:03:00Z",
}


@pytest.fixture
def structured(genesys: responses.RequestsMock, token_endpoint: Any) -> Any:
    return genesys.post(
        STRUCTURED_URL,
        json={"id": GENESYS_MESSAGE_ID, "type": "Structured", "direction": "Inbound"},
    )


@pytest.fixture
def inbound(genesys: responses.RequestsMock) -> Any:
    return genesys.post(INBOUND_URL, json={"id": "never"})


def test_a_quick_reply_reaches_genesys_as_a_structured_response(
    integration: Integration, authed_client: APIClient, structured: Any, inbound: Any
) -> None:
    response = authed_client.post(URL, REPLY_REQUEST, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {
        "message_id": "wamid.reply-1",
        "genesys_message_id": GENESYS_MESSAGE_ID,
        "conversation_id": None,
        "integration_id": INTEGRATION_ID,
    }
    [call] = structured.calls
    assert call.request.url == STRUCTURED_URL
    body = json.loads(call.request.body)
    assert body == {
        "channel": {
            "messageId": "wamid.reply-1",
            "time": "2026-01-31T12:03:00.000Z",
            "from": {"id": "+15550123456", "idType": "Phone", "nickname": "Maria Lopez"},
        },
        "buttonResponse": {
            "type": "QuickReply",
            "text": "Track my order",
            "payload": "TRACK_ORDER",
        },
        "originatingMessageId": AGENT_MESSAGE_ID,
    }
    assert sdk_problems(body, "OpenInboundStructuredResponseMessage") == []
    assert inbound.call_count == 0


@pytest.mark.parametrize(
    ("given", "sent"),
    [("button", "Button"), ("DATEPICKER", "DatePicker"), ("QuickReply", "QuickReply")],
)
def test_each_reply_type_is_sent_in_genesys_spelling(
    integration: Integration, authed_client: APIClient, structured: Any, given: str, sent: str
) -> None:
    reply = {"type": given, "payload": "2026-02-03T10:00:00Z", "reply_to": AGENT_MESSAGE_ID}
    response = authed_client.post(URL, {**REPLY_REQUEST, "reply": reply}, format="json")
    assert response.status_code == 201, response.content
    body = json.loads(structured.calls[0].request.body)
    assert body["buttonResponse"] == {"type": sent, "payload": "2026-02-03T10:00:00Z"}
    assert sdk_problems(body, "OpenInboundStructuredResponseMessage") == []


def test_a_repeated_reply_answers_the_first_result_without_a_second_call(
    integration: Integration, authed_client: APIClient, structured: Any
) -> None:
    assert authed_client.post(URL, REPLY_REQUEST, format="json").status_code == 201
    repeat = authed_client.post(URL, REPLY_REQUEST, format="json")
    assert repeat.status_code == 200
    assert repeat.json()["genesys_message_id"] == GENESYS_MESSAGE_ID
    assert structured.call_count == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "attachments": [
                    {
                        "url": "https://cdn.example/a.jpg",
                        "media_type": "Image",
                        "mime": "image/jpeg",
                    }
                ]
            },
            "attachments",
        ),
        ({"text": "Track my order"}, "text"),
        ({"metadata": {"k": "v"}}, "metadata"),
        ({"reply": {"type": "QuickReply", "payload": "P"}}, "reply"),  # no reply_to
        ({"reply": {"payload": "P", "reply_to": AGENT_MESSAGE_ID}}, "reply"),  # no type
        ({"reply": {"type": "Button", "reply_to": AGENT_MESSAGE_ID}}, "reply"),  # no payload
        ({"reply": {"type": "ListPicker", "payload": "P", "reply_to": "m"}}, "reply"),
        ({"reply": {"type": "Button", "payload": "P", "reply_to": "m", "id": "x"}}, "reply"),
        ({"reply": "TRACK_ORDER"}, "reply"),
    ],
)
def test_a_bad_reply_is_a_400_and_nothing_is_sent(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    change: dict[str, Any],
    field: str,
) -> None:
    response = authed_client.post(URL, {**REPLY_REQUEST, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in problem(response)["errors"]
    assert len(genesys.calls) == 0
    assert not InboundMessage.objects.exists()


def test_a_reply_genesys_rejects_is_a_422_and_frees_the_message_id(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    genesys.post(
        STRUCTURED_URL,
        status=400,
        json={"message": "No conversation for the originating message", "code": "bad.request"},
    )
    response = authed_client.post(URL, REPLY_REQUEST, format="json")
    assert response.status_code == 422
    assert problem(response)["detail"] == "No conversation for the originating message"
    assert not InboundMessage.objects.exists()


def test_a_reply_is_not_repeated_after_a_genesys_5xx(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    failing = genesys.post(STRUCTURED_URL, status=503, json={"message": "busy"})
    response = authed_client.post(URL, REPLY_REQUEST, format="json")
    assert response.status_code == 503
    assert response["Retry-After"]
    # Whether Genesys de-duplicates structured responses is not documented: one try only.
    assert failing.call_count == 1

"""Acting as the agent: the webhooks Genesys would send, signed, with its retry schedule."""

import pytest

from emulator.validation import validate
from tests.emulator.conftest import (
    EVENTS_SECRET,
    INTEGRATION_ID,
    WEBHOOK_SECRET,
    Genesys,
    Receiver,
    example,
    send_text,
    signature_ok,
)

OPEN_MESSAGING = "/webhooks/genesys/open-messaging"
EVENTS = "/webhooks/genesys/events"


@pytest.fixture
def conversation_id(genesys: Genesys) -> str:
    return str(send_text(genesys, "hello").json()["conversationId"])


def _same_shape(payload: dict, reference: dict) -> None:
    """Same keys at every level as the example in tests/fixtures/genesys (values differ)."""
    assert payload.keys() == reference.keys()
    for key, value in reference.items():
        if isinstance(value, dict):
            _same_shape(payload[key], value)


def test_agent_reply_is_a_signed_outbound_text(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    result = genesys.control(
        f"conversations/{conversation_id}/reply", {"text": "hello", "wait": True}
    )

    [received] = receiver.wait_for(OPEN_MESSAGING, 1)
    payload = received["json"]
    assert signature_ok(WEBHOOK_SECRET, received)
    assert received["headers"]["Content-Type"] == "application/json"
    _same_shape(payload, example("outbound-agent-text.json"))
    assert payload["id"] == result["message_id"] == payload["channel"]["messageId"]
    assert payload["channel"]["id"] == INTEGRATION_ID
    assert payload["channel"]["to"] == {"id": "+15550123456", "idType": "Phone"}
    assert payload["channel"]["from"]["id"] == INTEGRATION_ID
    assert payload["channel"]["from"]["idType"] == "Opaque"
    assert (payload["type"], payload["text"]) == ("Text", "hello")
    assert (payload["originatingEntity"], payload["direction"]) == ("Human", "Outbound")
    assert validate(payload, "ConversationNormalizedMessage") == []
    assert result["deliveries"][0]["outcome"] == "delivered"


def test_reply_with_image_and_quick_replies(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    genesys.control(
        f"conversations/{conversation_id}/reply",
        {"text": "label", "image_url": "https://cdn.example/return-label.png", "wait": True},
    )
    genesys.control(
        f"conversations/{conversation_id}/reply",
        {"text": "Pick one", "quick_replies": ["Track order", "Agent"], "bot": True, "wait": True},
    )

    image, structured = (r["json"] for r in receiver.wait_for(OPEN_MESSAGING, 2))
    attachment = image["content"][0]["attachment"]
    assert image["type"] == "Text"
    assert attachment["mediaType"] == "Image"
    assert attachment["mime"] == "image/png"
    assert attachment["filename"] == "return-label.png"
    assert structured["type"] == "Structured"
    assert structured["originatingEntity"] == "Bot"
    assert [c["quickReply"]["text"] for c in structured["content"]] == ["Track order", "Agent"]
    assert structured["content"][0]["quickReply"]["action"] == "Message"
    for payload in (image, structured):
        assert validate(payload, "ConversationNormalizedMessage") == []


def test_agent_typing_is_an_event(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    genesys.control(f"conversations/{conversation_id}/typing", {"wait": True})

    [received] = receiver.wait_for(OPEN_MESSAGING, 1)
    payload = received["json"]
    assert signature_ok(WEBHOOK_SECRET, received)
    _same_shape(payload, example("outbound-typing-event.json"))
    assert payload["type"] == "Event"
    assert payload["events"] == [
        {"eventType": "Typing", "typing": {"type": "On", "duration": 5000}}
    ]
    assert validate(payload, "ConversationNormalizedMessage") == []


def test_agent_disconnect_sends_user_end_and_customer_end(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    genesys.control(f"conversations/{conversation_id}/disconnect", {"wait": True})

    user_end, customer_end = receiver.wait_for(EVENTS, 2)
    assert signature_ok(EVENTS_SECRET, user_end) and signature_ok(EVENTS_SECRET, customer_end)
    assert (
        user_end["json"]["topicName"] == f"v2.detail.events.conversation.{conversation_id}.user.end"
    )
    assert (
        customer_end["json"]["topicName"]
        == f"v2.detail.events.conversation.{conversation_id}.customer.end"
    )
    assert user_end["json"]["eventBody"]["disconnectType"] == "CLIENT"
    assert customer_end["json"]["eventBody"]["disconnectType"] == "PEER"
    assert customer_end["json"]["eventBody"]["conversationId"] == conversation_id
    assert customer_end["json"]["metadata"]["CorrelationId"]
    assert validate(user_end["json"]["eventBody"], "UserEndDetailEventTopicUserEndEvent") == []
    assert (
        validate(customer_end["json"]["eventBody"], "CustomerEndDetailEventTopicCustomerEndEvent")
        == []
    )
    state = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()["state"]
    assert state == "disconnected"
    again = genesys.session.post(
        f"{genesys.url}/emulator/conversations/{conversation_id}/reply", json={"text": "x"}
    )
    assert again.status_code == 409


def test_transfer_ends_one_agent_and_starts_another(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    before = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()["participants"][
        2
    ]

    result = genesys.control(f"conversations/{conversation_id}/transfer", {"wait": True})

    user_end, acd_start, user_start = (r["json"] for r in receiver.wait_for(EVENTS, 3))
    assert user_end["topicName"].endswith(".user.end")
    assert user_end["eventBody"]["disconnectType"] == "TRANSFER"
    assert user_end["eventBody"]["userId"] == before["userId"]
    assert acd_start["topicName"].endswith(".acd.start")
    assert user_start["topicName"].endswith(".user.start")
    assert user_start["eventBody"]["userId"] == result["agent"]["user_id"] != before["userId"]
    assert validate(acd_start["eventBody"], "AcdStartDetailEventTopicAcdStartEvent") == []
    assert validate(user_start["eventBody"], "UserStartDetailEventTopicUserStartEvent") == []
    conversation = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()
    agents = [p for p in conversation["participants"] if p["purpose"] == "agent"]
    assert [a["messages"][0]["state"] for a in agents] == ["disconnected", "connected"]
    assert conversation["recentTransfers"][0]["destination"]["userId"] == result["agent"]["user_id"]


def test_presence_change_notifies_presence_and_routing_status(
    genesys: Genesys, receiver: Receiver
) -> None:
    user = genesys.call("GET", "/api/v2/users", params={"pageSize": 1}).json()["entities"][0]

    genesys.control(
        f"users/{user['id']}/presence",
        {"presence": "On Queue", "routing_status": "IDLE", "envelope": "eventbridge", "wait": True},
    )

    presence, routing = receiver.wait_for(EVENTS, 2)
    assert signature_ok(EVENTS_SECRET, presence) and signature_ok(EVENTS_SECRET, routing)
    envelope = presence["json"]
    assert envelope.keys() == example("notification-presence-eventbridge.json").keys()
    assert envelope["source"].endswith("/8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45/genesys-gateway")
    assert envelope["detail-type"] == "v2.users.{id}.presence"
    assert envelope["detail"]["topicName"] == f"v2.users.{user['id']}.presence"
    assert envelope["detail"]["eventBody"]["presenceDefinition"]["systemPresence"] == "On Queue"
    assert validate(envelope["detail"]["eventBody"], "PresenceEventUserPresence") == []
    body = routing["json"]["detail"]["eventBody"]
    assert body["id"] == user["id"]
    assert body["routingStatus"]["status"] == "IDLE"
    assert validate(body, "UserRoutingStatusUserRoutingStatus") == []


def test_bare_presence_notification(genesys: Genesys, receiver: Receiver) -> None:
    user = genesys.call("GET", "/api/v2/users", params={"pageSize": 1}).json()["entities"][0]

    genesys.control(f"users/{user['id']}/presence", {"presence": "Busy", "wait": True})

    [received] = receiver.wait_for(EVENTS, 1)
    assert received["json"].keys() == {"topicName", "version", "eventBody", "metadata"}


def test_webhook_is_retried_on_500_until_it_succeeds(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    receiver.script[OPEN_MESSAGING] = [500, 503, 429]

    result = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})

    received = receiver.wait_for(OPEN_MESSAGING, 4)
    assert [r["status"] for r in received] == [500, 503, 429, 200]
    assert len({r["raw"] for r in received}) == 1  # the same body and id each time
    delivery = result["deliveries"][0]
    assert delivery["outcome"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 429, 200]


def test_webhook_gives_up_after_five_retries(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    receiver.script[OPEN_MESSAGING] = [500] * 10

    result = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})

    assert len(receiver.at(OPEN_MESSAGING)) == 6
    assert result["deliveries"][0]["outcome"] == "failed"


def test_webhook_is_not_retried_on_400(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    receiver.script[OPEN_MESSAGING] = [400]

    result = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})

    assert len(receiver.at(OPEN_MESSAGING)) == 1
    assert result["deliveries"][0]["outcome"] == "rejected"
    deliveries = genesys.inspect("deliveries?kind=open-messaging")["entities"]
    assert deliveries[-1]["attempts"][0]["status"] == 400


def test_unreachable_gateway_counts_as_a_timeout(genesys: Genesys, conversation_id: str) -> None:
    genesys.control("config", {"webhook_retries": 1})
    genesys.call(
        "PATCH",
        f"/api/v2/conversations/messaging/integrations/open/{INTEGRATION_ID}",
        json={"outboundNotificationWebhookUrl": "http://127.0.0.1:9/nothing"},
    )

    result = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})

    attempts = result["deliveries"][0]["attempts"]
    assert len(attempts) == 2
    assert "error" in attempts[0]
    assert result["deliveries"][0]["outcome"] == "failed"


def test_routing_notifications_when_switched_on(genesys: Genesys, receiver: Receiver) -> None:
    genesys.control("config", {"notify_routing": True})

    conversation_id = send_text(genesys, "hello").json()["conversationId"]

    acd_start, user_start = (r["json"] for r in receiver.wait_for(EVENTS, 2))
    assert acd_start["topicName"] == f"v2.detail.events.conversation.{conversation_id}.acd.start"
    assert user_start["topicName"] == f"v2.detail.events.conversation.{conversation_id}.user.start"


def test_events_secret_can_be_changed(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    genesys.control("config", {"events_secret": "rotated-events-secret-0123456789"})

    genesys.control(f"conversations/{conversation_id}/disconnect", {"wait": True})

    received = receiver.wait_for(EVENTS, 2)
    assert signature_ok("rotated-events-secret-0123456789", received[0])
    assert not signature_ok(EVENTS_SECRET, received[0])


def test_latest_resolves_to_the_newest_open_conversation(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    genesys.control("conversations/latest/reply", {"text": "hi", "wait": True})

    [received] = receiver.wait_for(OPEN_MESSAGING, 1)
    bulk = genesys.call(
        "POST",
        f"/api/v2/conversations/messages/{conversation_id}/messages/bulk",
        json=[received["json"]["id"]],
    ).json()
    assert len(bulk["entities"]) == 1


def test_events_can_carry_the_secret_as_bearer_instead(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    genesys.control("config", {"events_auth": "bearer"})

    genesys.control(f"conversations/{conversation_id}/disconnect", {"wait": True})

    received = receiver.wait_for(EVENTS, 2)[0]
    assert received["headers"]["Authorization"] == f"Bearer {EVENTS_SECRET}"
    assert "X-Hub-Signature-256" not in received["headers"]

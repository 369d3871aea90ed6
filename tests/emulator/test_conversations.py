"""Conversation reads and changes, and that every body the emulator serves fits the SDK models."""

import pytest

from emulator.validation import validate
from tests.emulator.conftest import Genesys, Receiver, example, send_text

MESSAGES = "/api/v2/conversations/messages"


@pytest.fixture
def conversation_id(genesys: Genesys) -> str:
    return str(send_text(genesys, "hello").json()["conversationId"])


def test_conversation_has_customer_queue_and_agent(genesys: Genesys, conversation_id: str) -> None:
    body = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()

    customer, acd, agent = body["participants"]
    assert body["id"] == conversation_id
    assert body["address"] == "+15550123456"
    assert "endTime" not in body
    assert customer["purpose"] == "customer"
    assert customer["name"] == "Maria Lopez"
    assert customer["messages"][0]["type"] == "open"
    assert customer["messages"][0]["messages"][0]["messageStatus"] == "received"
    assert acd["purpose"] == "acd"
    assert acd["messages"][0]["state"] == "disconnected"
    assert acd["messages"][0]["disconnectType"] == "transfer"
    assert agent["purpose"] == "agent"
    assert agent["userId"]
    assert agent["userUri"] == f"/api/v2/users/{agent['userId']}"
    assert agent["messages"][0]["state"] == "connected"


def test_unknown_conversation_is_not_found(genesys: Genesys) -> None:
    response = genesys.call("GET", "/api/v2/conversations/3e8d5a71-c2b4-4f69-8e1a-5b7c0d9f2e34")

    assert response.status_code == 404
    assert response.json()["code"] == "not.found"


def test_message_conversation_lists_message_ids(genesys: Genesys, conversation_id: str) -> None:
    second = send_text(genesys, "more").json()

    body = genesys.call("GET", f"{MESSAGES}/{conversation_id}").json()

    customer = body["participants"][0]
    assert [m["messageId"] for m in customer["messages"]][-1] == second["id"]
    assert len(customer["messages"]) == 2
    assert body["participants"][2]["user"]["id"]


def test_bulk_returns_message_data_for_known_ids(genesys: Genesys, conversation_id: str) -> None:
    reply = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})
    ids = [
        m["messageId"]
        for m in genesys.call("GET", f"{MESSAGES}/{conversation_id}").json()["participants"][0][
            "messages"
        ]
    ]

    body = genesys.call(
        "POST",
        f"{MESSAGES}/{conversation_id}/messages/bulk",
        json=[*ids, reply["message_id"], "nope"],
    ).json()

    inbound, outbound = body["entities"]
    assert inbound["direction"] == "inbound"
    assert inbound["textBody"] == "hello"
    assert inbound["providerMessageId"].startswith("wamid.")
    assert inbound["normalizedMessage"]["text"] == "hello"
    assert inbound["status"] == "received"
    assert outbound["direction"] == "outbound"
    assert outbound["textBody"] == "hi"
    assert outbound["status"] == "sent"
    assert outbound["normalizedMessage"]["originatingEntity"] == "Human"


def test_bulk_rejects_a_body_that_is_not_a_list_of_ids(
    genesys: Genesys, conversation_id: str
) -> None:
    response = genesys.call("POST", f"{MESSAGES}/{conversation_id}/messages/bulk", json={"ids": []})

    assert response.status_code == 400


def test_attributes_are_merged(genesys: Genesys, conversation_id: str) -> None:
    customer_id = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()[
        "participants"
    ][0]["id"]
    path = f"{MESSAGES}/{conversation_id}/participants/{customer_id}/attributes"

    genesys.call("PATCH", path, json={"attributes": {"a": "1", "b": "2"}})
    response = genesys.call("PATCH", path, json={"attributes": {"b": "3", "c": "4"}})

    assert response.status_code == 200
    assert response.json() == {"attributes": {"a": "1", "b": "3", "c": "4"}}
    participant = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()[
        "participants"
    ][0]
    assert participant["attributes"] == {"a": "1", "b": "3", "c": "4"}


def test_attributes_must_be_strings(genesys: Genesys, conversation_id: str) -> None:
    customer_id = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()[
        "participants"
    ][0]["id"]

    response = genesys.call(
        "PATCH",
        f"{MESSAGES}/{conversation_id}/participants/{customer_id}/attributes",
        json={"attributes": {"n": 1}, "extra": True},
    )

    assert response.status_code == 400
    assert {d["fieldName"] for d in response.json()["details"]} == {"attributes.n", "extra"}


def test_disconnect_ends_the_conversation_and_notifies(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    response = genesys.call(
        "PATCH", f"{MESSAGES}/{conversation_id}", json={"state": "disconnected"}
    )

    assert response.status_code == 200
    assert response.json()["state"] == "disconnected"
    assert response.json()["endTime"]
    assert {p["messages"][0]["state"] for p in response.json()["participants"]} == {"disconnected"}
    events = receiver.wait_for("/webhooks/genesys/events", 2)
    topics = [e["json"]["topicName"].rsplit(".", 2)[-2:] for e in events]
    assert topics == [["user", "end"], ["customer", "end"]]
    assert events[1]["json"]["eventBody"]["disconnectType"] == "CLIENT"


def test_disconnect_accepts_only_the_disconnected_state(
    genesys: Genesys, conversation_id: str
) -> None:
    response = genesys.call("PATCH", f"{MESSAGES}/{conversation_id}", json={"state": "connected"})

    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "state"


def test_served_bodies_fit_the_sdk_models(genesys: Genesys, conversation_id: str) -> None:
    reply = genesys.control(
        f"conversations/{conversation_id}/reply",
        {"text": "label", "image_url": "https://example.test/label.png", "wait": True},
    )
    receipt = example("inbound-receipt.json") | {"id": reply["message_id"]}
    inbound = "/api/v2/conversations/messages/6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23/inbound/open"
    agent = genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json()["participants"][
        2
    ]
    bulk = genesys.call(
        "POST",
        f"{MESSAGES}/{conversation_id}/messages/bulk",
        params={"useNormalizedMessage": "true"},
        json=[reply["message_id"]],
    ).json()
    served = [
        (genesys.call("GET", f"/api/v2/conversations/{conversation_id}").json(), "Conversation"),
        (genesys.call("GET", f"{MESSAGES}/{conversation_id}").json(), "MessageConversation"),
        (bulk, "TextMessageListing"),
        (send_text(genesys, "x").json(), "OpenMessageNormalizedMessage"),
        (
            genesys.call("POST", f"{inbound}/receipt", json=receipt).json(),
            "OpenReceiptNormalizedMessage",
        ),
        (
            genesys.call(
                "POST", f"{inbound}/event", json=example("inbound-typing-event.json")
            ).json(),
            "OpenEventNormalizedMessage",
        ),
        (genesys.call("GET", "/api/v2/organizations/me").json(), "Organization"),
        (
            genesys.call(
                "GET", "/api/v2/users", params={"expand": ["presence", "routingStatus"]}
            ).json(),
            "UserEntityListing",
        ),
        (
            genesys.call("GET", f"/api/v2/users/{agent['userId']}/presences/purecloud").json(),
            "UserPresence",
        ),
        (
            genesys.call("GET", f"/api/v2/users/{agent['userId']}/routingstatus").json(),
            "RoutingStatus",
        ),
        (
            genesys.call("GET", "/api/v2/conversations/messaging/integrations/open").json(),
            "OpenIntegrationEntityListing",
        ),
        (genesys.call("GET", "/api/v2/nothing/here").json(), "ErrorBody"),
    ]

    for body, model in served:
        assert validate(body, model) == [], model
    assert (
        bulk["entities"][0]["normalizedMessage"]["content"][0]["attachment"]["mediaType"] == "Image"
    )
    assert "textBody" not in bulk["entities"][0]


def test_unknown_path_and_wrong_method(genesys: Genesys) -> None:
    missing = genesys.call("GET", "/api/v2/nothing/here")
    wrong = genesys.call("DELETE", "/api/v2/organizations/me")

    assert missing.status_code == 404
    assert missing.json()["code"] == "not.found"
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405

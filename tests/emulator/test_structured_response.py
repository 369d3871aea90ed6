"""Open Messaging structured responses: the customer taps a quick reply the agent offered."""

from typing import Any

import pytest

from emulator.validation import validate
from tests.emulator.conftest import INTEGRATION_ID, Genesys, example, send_text

STRUCTURED = f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/structured/response"


@pytest.fixture
def offered(genesys: Genesys) -> dict[str, str]:
    """A conversation whose agent offered two quick replies: its id and the offer's id."""
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    reply = genesys.control(
        f"conversations/{conversation_id}/reply",
        {"text": "Pick one", "quick_replies": ["Track order", "Agent"], "wait": True},
    )
    return {"conversation_id": conversation_id, "message_id": reply["message_id"]}


def _tap(originating: str, *, message_id: str = "wamid.tap-1", **button: Any) -> dict[str, Any]:
    channel = example("inbound-text.json")["channel"] | {"messageId": message_id}
    return {
        "channel": channel,
        "buttonResponse": {"type": "QuickReply", "text": "Track order", "payload": "TRACK_ORDER"}
        | button,
        "originatingMessageId": originating,
    }


def test_a_tap_is_answered_like_genesys_and_listed_with_its_button(
    genesys: Genesys, offered: dict[str, str]
) -> None:
    response = genesys.call("POST", STRUCTURED, json=_tap(offered["message_id"]))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert validate(answer, "OpenStructuredResponseNormalizedMessage") == []
    assert "conversationId" not in answer  # the SDK's answer model has none
    assert (answer["type"], answer["direction"]) == ("Structured", "Inbound")
    assert answer["channel"]["messageId"] == "wamid.tap-1"
    assert answer["channel"]["from"]["id"] == "+15550123456"
    assert answer["content"] == [
        {
            "contentType": "ButtonResponse",
            "buttonResponse": {
                "type": "QuickReply",
                "text": "Track order",
                "payload": "TRACK_ORDER",
            },
        }
    ]
    listed = genesys.call(
        "GET",
        f"/api/v2/conversations/messages/{offered['conversation_id']}/messages/{answer['id']}",
    ).json()
    # textBody is the deprecated field SDK 269 no longer lists; the rest is MessageData.
    assert validate({k: v for k, v in listed.items() if k != "textBody"}, "MessageData") == []
    assert (listed["direction"], listed["providerMessageId"]) == ("inbound", "wamid.tap-1")
    assert listed["textBody"] == "Track order"
    assert listed["normalizedMessage"]["content"][0]["buttonResponse"] == {
        "type": "QuickReply",
        "text": "Track order",
        "payload": "TRACK_ORDER",
        "originatingMessageId": offered["message_id"],
    }
    conversation = genesys.call("GET", f"/api/v2/conversations/{offered['conversation_id']}").json()
    [customer] = [p for p in conversation["participants"] if p["purpose"] == "customer"]
    listed_ids = [m["messageId"] for m in customer["messages"][0]["messages"]]
    assert listed_ids[-1] == answer["id"]
    assert len(listed_ids) == 2  # the first text, then the tap
    view = genesys.call("GET", f"/emulator/conversations/{offered['conversation_id']}").json()
    assert view["messages"][-1]["button_response"]["payload"] == "TRACK_ORDER"
    assert view["messages"][0]["button_response"] is None


def test_a_repeated_message_id_gets_the_first_answer_and_adds_nothing(
    genesys: Genesys, offered: dict[str, str]
) -> None:
    first = genesys.call("POST", STRUCTURED, json=_tap(offered["message_id"]))
    again = genesys.call("POST", STRUCTURED, json=_tap(offered["message_id"], payload="AGENT"))

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    summary = genesys.inspect("conversations")["entities"]
    assert [c["messages"] for c in summary] == [3]  # text, quick replies, one tap


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"buttonResponse": {"type": "Tap", "payload": "X"}}, "buttonResponse.type"),
        (
            {"buttonResponse": {"type": "QuickReply", "payload": "X", "label": "x"}},
            "buttonResponse.label",
        ),
        ({"buttonResponse": {"type": "QuickReply", "text": "x"}}, "buttonResponse.payload"),
        ({"originatingMessageId": None}, "originatingMessageId"),
        ({"text": "Track order"}, "text"),
    ],
)
def test_a_body_that_does_not_fit_the_sdk_model_is_refused(
    genesys: Genesys, offered: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = _tap(offered["message_id"]) | change

    response = genesys.call("POST", STRUCTURED, json=body)

    assert response.status_code == 400, response.text
    error = response.json()
    assert (error["code"], error["status"]) == ("bad.request", 400)
    assert [d["fieldName"] for d in error["details"]] == [field]
    [logged] = genesys.inspect(f"requests?path_prefix={STRUCTURED}")["entities"]
    assert (logged["model"], logged["valid"]) == ("OpenInboundStructuredResponseMessage", False)
    assert [c["messages"] for c in genesys.inspect("conversations")["entities"]] == [2]


def test_a_tap_must_answer_an_agent_message_of_the_open_conversation(
    genesys: Genesys, offered: dict[str, str]
) -> None:
    customer_text = genesys.call(
        "GET", f"/api/v2/conversations/messages/{offered['conversation_id']}"
    ).json()
    [customer] = [p for p in customer_text["participants"] if p["purpose"] == "customer"]
    inbound_id = customer["messages"][0]["messageId"]

    for originating in ("not-a-message", inbound_id):
        response = genesys.call("POST", STRUCTURED, json=_tap(originating))
        assert response.status_code == 400, response.text
        assert [d["fieldName"] for d in response.json()["details"]] == ["originatingMessageId"]

    other_customer = _tap(offered["message_id"])
    other_customer["channel"]["from"]["id"] = "+15550999999"
    assert genesys.call("POST", STRUCTURED, json=other_customer).status_code == 400

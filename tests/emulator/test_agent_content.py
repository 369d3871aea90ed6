"""Agent templates, list pickers, date pickers and locations: from the CLI and the control API
to the signed Open Messaging webhook, each payload checked against the SDK's model."""

import json
from typing import Any

import pytest

from emulator.__main__ import main
from emulator.validation import validate
from tests.emulator.conftest import (
    INTEGRATION_ID,
    WEBHOOK_SECRET,
    Genesys,
    Receiver,
    send_text,
    signature_ok,
)

OPEN_MESSAGING = "/webhooks/genesys/open-messaging"


@pytest.fixture
def conversation_id(genesys: Genesys) -> str:
    return str(send_text(genesys, "hello").json()["conversationId"])


def _cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, Any]:
    code = main(["agent", *args, "--emulator-url", url])
    return code, json.loads(capsys.readouterr().out)


def _only_webhook(receiver: Receiver) -> dict[str, Any]:
    """The one agent message the receiver got: signed, fitting the SDK model."""
    [received] = receiver.wait_for(OPEN_MESSAGING, 1)
    payload: dict[str, Any] = received["json"]
    assert signature_ok(WEBHOOK_SECRET, received)
    assert validate(payload, "ConversationNormalizedMessage") == []
    assert (payload["type"], payload["direction"]) == ("Structured", "Outbound")
    assert payload["channel"]["from"]["id"] == INTEGRATION_ID
    assert payload["channel"]["to"]["id"] == "+15550123456"
    assert payload["id"] == payload["channel"]["messageId"]
    return payload


def test_cli_template_reaches_the_webhook_as_a_notification(
    genesys: Genesys, receiver: Receiver, conversation_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, answer = _cli(
        capsys,
        genesys.url,
        "template",
        conversation_id,
        "--template-id",
        "order_update",
        "--language",
        "en_US",
        "--body-text",
        "Hi {{name}}, order {{order}} is on its way",
        "--param",
        "name=Maria",
        "--param",
        "order=4821",
        "--header-text",
        "Order {{order}}",
        "--header-param",
        "order=4821",
        "--footer-text",
        "Reply STOP to opt out",
    )

    assert code == 0
    assert answer["deliveries"][0]["outcome"] == "delivered"
    payload = _only_webhook(receiver)
    assert payload["id"] == answer["message_id"]
    assert payload["originatingEntity"] == "Human"
    assert "text" not in payload
    assert payload["content"] == [
        {
            "contentType": "Notification",
            "template": {
                "id": "order_update",
                "language": "en_US",
                "header": {
                    "type": "Text",
                    "text": "Order {{order}}",
                    "parameters": [{"name": "order", "text": "4821"}],
                },
                "body": {
                    "text": "Hi {{name}}, order {{order}} is on its way",
                    "parameters": [
                        {"name": "name", "text": "Maria"},
                        {"name": "order", "text": "4821"},
                    ],
                },
                "footer": {"text": "Reply STOP to opt out"},
            },
        }
    ]


def test_cli_list_picker(
    genesys: Genesys, receiver: Receiver, conversation_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _cli(
        capsys,
        genesys.url,
        "list-picker",
        "latest",
        "--title",
        "How can we help?",
        "--button-label",
        "Options",
        "--item",
        "Track order",
        "--item",
        "returns=Return an item",
        "--text",
        "Choose one",
        "--bot",
    )

    assert code == 0
    payload = _only_webhook(receiver)
    assert (payload["text"], payload["originatingEntity"]) == ("Choose one", "Bot")
    [item] = payload["content"]
    assert item["contentType"] == "ListPicker"
    picker = item["listPicker"]
    assert picker["receivedMessage"] == {"title": "How can we help?", "buttonLabel": "Options"}
    [section] = picker["sections"]
    assert section["title"] == "How can we help?"
    assert section["items"] == [
        {"id": "TRACK_ORDER", "title": "Track order"},
        {"id": "returns", "title": "Return an item"},
    ]


def test_cli_date_picker(
    genesys: Genesys, receiver: Receiver, conversation_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _cli(
        capsys,
        genesys.url,
        "date-picker",
        conversation_id,
        "--title",
        "Pick a delivery slot",
        "--slot",
        "2026-12-02T14:00:00.000Z",
        "--slot",
        "2026-12-01T10:00:00.000Z",
        "--duration-s",
        "3600",
    )

    assert code == 0
    picker = _only_webhook(receiver)["content"][0]
    assert picker["contentType"] == "DatePicker"
    assert picker["datePicker"]["title"] == "Pick a delivery slot"
    assert picker["datePicker"]["dateMinimum"] == "2026-12-01T10:00:00.000Z"
    assert picker["datePicker"]["dateMaximum"] == "2026-12-02T14:00:00.000Z"
    assert picker["datePicker"]["availableTimes"] == [
        {"dateTime": "2026-12-01T10:00:00.000Z", "duration": 3600},
        {"dateTime": "2026-12-02T14:00:00.000Z", "duration": 3600},
    ]


def test_cli_location(
    genesys: Genesys, receiver: Receiver, conversation_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _cli(
        capsys,
        genesys.url,
        "location",
        conversation_id,
        "--lat",
        "52.3676",
        "--lon",
        "4.9041",
        "--address",
        "Dam 1, Amsterdam",
        "--label",
        "Our store",
    )

    assert code == 0
    assert _only_webhook(receiver)["content"] == [
        {
            "contentType": "Location",
            "location": {
                "latitude": 52.3676,
                "longitude": 4.9041,
                "address": "Dam 1, Amsterdam",
                "text": "Our store",
            },
        }
    ]


def test_control_api_sends_each_kind_and_records_it_in_the_conversation(
    genesys: Genesys, receiver: Receiver, conversation_id: str
) -> None:
    path = f"conversations/{conversation_id}"
    sent = [
        genesys.control(
            f"{path}/template",
            {
                "template_id": "welcome",
                "language": "en",
                "parameters": {"1": "Maria"},
                "wait": True,
            },
        ),
        genesys.control(
            f"{path}/list-picker",
            {
                "title": "Topics",
                "items": [{"title": "Billing", "subtitle": "Invoices"}],
                "wait": True,
            },
        ),
        genesys.control(
            f"{path}/date-picker",
            {"title": "When?", "slots": ["2026-12-01T10:00:00.000Z"], "wait": True},
        ),
        genesys.control(f"{path}/location", {"latitude": 0, "longitude": -0.5, "wait": True}),
    ]

    payloads = [r["json"] for r in receiver.wait_for(OPEN_MESSAGING, 4)]
    assert [p["content"][0]["contentType"] for p in payloads] == [
        "Notification",
        "ListPicker",
        "DatePicker",
        "Location",
    ]
    assert [p["id"] for p in payloads] == [s["message_id"] for s in sent]
    assert payloads[0]["content"][0]["template"] == {
        "id": "welcome",
        "language": "en",
        "body": {"parameters": [{"name": "1", "text": "Maria"}]},
    }
    assert payloads[1]["content"][0]["listPicker"]["sections"][0]["items"] == [
        {"id": "BILLING", "title": "Billing", "subtitle": "Invoices"}
    ]
    for payload in payloads:
        assert validate(payload, "ConversationNormalizedMessage") == []
    listed = genesys.call(
        "POST",
        f"/api/v2/conversations/messages/{conversation_id}/messages/bulk",
        json=[s["message_id"] for s in sent],
    ).json()["entities"]
    assert [m["normalizedMessage"]["content"] for m in listed] == [p["content"] for p in payloads]
    assert {m["direction"] for m in listed} == {"outbound"}


@pytest.mark.parametrize(
    ("action", "body", "says"),
    [
        ("template", {"language": "en"}, "template_id"),
        ("template", {"template_id": "t", "language": "en", "parameters": ["x"]}, "parameters"),
        ("list-picker", {"title": "Topics", "items": []}, "item"),
        ("list-picker", {"title": "Topics", "items": [{"id": "x"}]}, "title"),
        ("date-picker", {"title": "When?", "slots": ["tomorrow"]}, "dateTime"),
        ("date-picker", {"title": "When?", "slots": []}, "slot"),
        ("location", {"latitude": "north", "longitude": 4.9}, "latitude"),
        ("location", {"latitude": 91, "longitude": 4.9}, "latitude"),
    ],
)
def test_control_api_refuses_content_that_makes_no_message(
    genesys: Genesys, receiver: Receiver, conversation_id: str, action: str, body: dict, says: str
) -> None:
    response = genesys.session.post(
        f"{genesys.url}/emulator/conversations/{conversation_id}/{action}", json=body
    )

    assert response.status_code == 400, response.text
    assert says in response.json()["message"]
    assert genesys.inspect("deliveries?kind=open-messaging")["entities"] == []
    [summary] = genesys.inspect("conversations")["entities"]
    assert summary["messages"] == 1


def test_content_for_a_disconnected_conversation_is_refused(
    genesys: Genesys, conversation_id: str
) -> None:
    genesys.control(f"conversations/{conversation_id}/disconnect", {"wait": True})

    response = genesys.session.post(
        f"{genesys.url}/emulator/conversations/{conversation_id}/location",
        json={"latitude": 1, "longitude": 2},
    )

    assert response.status_code == 409
    assert genesys.inspect("deliveries?kind=open-messaging")["entities"] == []


def test_cli_refuses_a_parameter_without_a_value(
    genesys: Genesys, conversation_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match="expected NAME=VALUE, got 'Maria'"):
        main(
            [
                "agent",
                "template",
                conversation_id,
                "--template-id",
                "welcome",
                "--language",
                "en",
                "--param",
                "Maria",
                "--emulator-url",
                genesys.url,
            ]
        )
    assert genesys.inspect("deliveries?kind=open-messaging")["entities"] == []

"""The normaliser: every example payload, every event type, the id rules. No database."""

import copy
import hashlib
import json
from typing import Any

import pytest

from tests.conftest import genesys_example
from tests.webhooks.conftest import CONVERSATION_ID, CUSTOMER_ID, INTEGRATION_ID, USER_ID
from webhooks.payloads.cloudevents import cloud_event_build, routing_key
from webhooks.payloads.notifications import (
    eventbridge_organization_id,
    notification_is_heartbeat,
    notification_normalise,
    notification_unwrap,
)
from webhooks.payloads.open_messaging import (
    open_messaging_integration_candidates,
    open_messaging_normalise,
)
from webhooks.payloads.parsing import json_parse
from webhooks.payloads.times import time_normalise
from webhooks.payloads.types import EVENT_TYPES, UNHANDLED, GenesysEvent, PayloadError

ORG_ID = "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45"


def normalise_open(name_or_payload: str | dict[str, Any], conversation_id: str | None = None):
    payload = (
        genesys_example(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    )
    return open_messaging_normalise(
        payload=payload, integration_id=INTEGRATION_ID, conversation_id=conversation_id
    )


def normalise_notification(name_or_payload: str | dict[str, Any]) -> list[GenesysEvent]:
    payload = (
        genesys_example(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    )
    return notification_normalise(notification_unwrap(payload))


# --- Open Messaging -----------------------------------------------------------------------


def test_agent_text_becomes_message_outbound() -> None:
    [event] = normalise_open("outbound-agent-text.json", conversation_id=CONVERSATION_ID)
    assert event == GenesysEvent(
        event_id="c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60",
        event_type="message.outbound",
        time="2026-01-31T12:02:00.412Z",
        conversation_id=CONVERSATION_ID,
        ordering_key=CONVERSATION_ID,
        data={
            "message_id": "c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60",
            "conversation_id": CONVERSATION_ID,
            "integration_id": INTEGRATION_ID,
            "customer_id": CUSTOMER_ID,
            "customer_id_type": "Phone",
            "text": "Hello Maria, I'm Alex. Let me look up order #4821 for you.",
            "content": [],
            "attachments": [],
            "quick_replies": [],
            "quick_replies_title": None,
            "rich_content": [],
            "template": None,
            "location": None,
            "list_picker": None,
            "originating_entity": "Human",
            "metadata": {},
        },
    )


def test_bot_text_keeps_its_originating_entity() -> None:
    [event] = normalise_open("outbound-bot-text.json", conversation_id=CONVERSATION_ID)
    assert event.event_type == "message.outbound"
    assert event.event_id == "1a9e4c7b-2d5f-4a83-8b6e-3f0c9d2a7e41"
    assert event.data["originating_entity"] == "Bot"
    assert event.data["text"].startswith("Hi Maria!")
    assert event.time == "2026-01-31T12:00:01.905Z"


def test_agent_image_carries_the_attachment_and_caption() -> None:
    [event] = normalise_open("outbound-agent-image.json", conversation_id=CONVERSATION_ID)
    assert event.event_type == "message.outbound"
    assert event.data["text"].startswith("Here is the return label")
    assert event.data["attachments"] == [
        {
            "id": "4d7a2c9e-1b5f-4e38-a6d0-9c3e7b1f5a22",
            "media_type": "Image",
            "url": "https://api-downloads.mypurecloud.ie/messaging/media/4d7a2c9e-1b5f-4e38-a6d0-9c3e7b1f5a22/return-label.png?X-Amz-Expires=3600&X-Amz-Signature=0f3c",
            "mime": "image/png",
            "filename": "return-label.png",
            "text": None,
            "content_size_bytes": 84213,
        }
    ]


def test_quick_replies_are_listed_in_order() -> None:
    [event] = normalise_open(
        "outbound-structured-quick-replies.json", conversation_id=CONVERSATION_ID
    )
    assert event.event_type == "message.outbound"
    assert event.data["text"] == "What can we help you with today?"
    assert event.data["quick_replies"] == [
        {"text": "Track my order", "payload": "TRACK_ORDER", "action": "Message"},
        {"text": "Return an item", "payload": "RETURN_ITEM", "action": "Message"},
        {"text": "Talk to an agent", "payload": "AGENT", "action": "Message"},
    ]
    assert event.data["originating_entity"] == "Bot"


def test_quick_reply_v2_group_gives_the_same_list_with_its_title() -> None:
    payload = genesys_example("outbound-structured-quick-replies.json")
    payload["content"] = [
        {
            "contentType": "QuickReplyV2",
            "quickReplyV2": {
                "title": "Pick one",
                "actions": [
                    {"text": "Track my order", "payload": "TRACK_ORDER", "action": "Message"},
                    {"text": "Talk to an agent", "payload": "AGENT"},
                ],
            },
        }
    ]
    [event] = normalise_open(payload)
    assert event.data["quick_replies_title"] == "Pick one"
    assert event.data["quick_replies"] == [
        {"text": "Track my order", "payload": "TRACK_ORDER", "action": "Message"},
        {"text": "Talk to an agent", "payload": "AGENT", "action": "Message"},
    ]


def test_cards_and_carousels_pass_through_and_every_item_stays_in_content() -> None:
    payload = genesys_example("outbound-structured-quick-replies.json")
    card = {"contentType": "Card", "card": {"title": "Order #4821", "actions": []}}
    carousel = {"contentType": "Carousel", "carousel": {"cards": [{"title": "A"}]}}
    payload["content"] = [
        card,
        {"contentType": "DatePicker", "datePicker": {"title": "When?"}},
        "not an object",
        carousel,
    ]
    [event] = normalise_open(payload)
    assert event.event_type == "message.outbound"
    assert event.data["rich_content"] == [card, carousel]
    assert event.data["quick_replies"] == []
    assert event.data["content"] == payload["content"]


def test_message_with_only_content_we_do_not_know_is_still_published() -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload.pop("text")
    item = {"contentType": "SomethingNew", "somethingNew": {"a": [1, 2]}}
    payload["content"] = [item]
    [event] = normalise_open(payload)
    assert (event.event_type, event.published) == ("message.outbound", True)
    assert event.data["content"] == [item]
    assert event.data["text"] == ""


def test_message_without_text_or_content_is_recorded_but_not_published() -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload.pop("text")
    payload["content"] = []
    [event] = normalise_open(payload)
    assert event.event_type == UNHANDLED
    assert not event.published
    assert event.data["payload"] == payload


def test_notification_content_gives_the_template_with_header_then_body_parameters() -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload.pop("text")
    template = {
        "id": "order_shipped",
        "language": "en_US",
        "header": {"type": "Text", "parameters": [{"name": "h1", "text": "#4821"}]},
        "body": {
            "text": "Hi {{1}}, your order shipped on {{2}}.",
            "parameters": [{"name": "1", "text": "Maria"}, {"name": "2", "text": "31 Jan"}],
        },
        "footer": {"text": "Reply STOP to opt out"},
    }
    payload["content"] = [{"contentType": "Notification", "template": template}]
    [event] = normalise_open(payload)
    assert event.event_type == "message.outbound"
    assert event.data["template"] == {
        "id": "order_shipped",
        "language": "en_US",
        "parameters": [
            {"name": "h1", "text": "#4821"},
            {"name": "1", "text": "Maria"},
            {"name": "2", "text": "31 Jan"},
        ],
    }
    assert event.data["content"] == payload["content"]


def test_location_content_is_normalised_with_only_the_fields_given() -> None:
    payload = genesys_example("outbound-agent-text.json")
    location = {"latitude": 53.3498, "longitude": -6.2603, "address": "1 O'Connell St"}
    payload["content"] = [{"contentType": "Location", "location": location}]
    [event] = normalise_open(payload)
    assert event.data["location"] == location
    payload["content"] = [{"contentType": "Location", "location": {"latitude": True}}]
    [event] = normalise_open(payload)
    assert event.data["location"] == {"latitude": None, "longitude": None}


def test_list_picker_content_is_passed_as_the_list_picker() -> None:
    payload = genesys_example("outbound-agent-text.json")
    picker = {
        "id": "menu",
        "sections": [{"title": "Orders", "items": [{"id": "track", "title": "Track"}]}],
    }
    payload["content"] = [
        {"contentType": "ListPicker", "listPicker": picker},
        {"contentType": "ListPicker", "listPicker": {"id": "second"}},
    ]
    [event] = normalise_open(payload)
    assert event.data["list_picker"] == picker
    assert [item["listPicker"]["id"] for item in event.data["content"]] == ["menu", "second"]


def test_typing_event_becomes_agent_typing() -> None:
    [event] = normalise_open("outbound-typing-event.json", conversation_id=CONVERSATION_ID)
    assert event.event_type == "agent.typing"
    assert event.event_id == "9a0e7c35-1d4b-4b2f-86e9-c5f2a8d31b07"
    assert event.time == "2026-01-31T12:01:58.000Z"
    assert event.data["typing"] == {"type": "On", "duration_ms": 5000}
    assert event.data["customer_id"] == CUSTOMER_ID


def test_other_events_are_not_published() -> None:
    payload = genesys_example("outbound-typing-event.json")
    payload["events"] = [{"eventType": "CoBrowse", "coBrowse": {}}]
    [event] = normalise_open(payload)
    assert (event.event_type, event.published) == (UNHANDLED, False)


def test_receipt_becomes_message_receipt() -> None:
    [event] = normalise_open("outbound-receipt.json", conversation_id=CONVERSATION_ID)
    assert event.event_type == "message.receipt"
    # The receipted message's id and the status: each status of one message is an event.
    assert event.event_id == "0b6c9f4e-7d21-4a8f-b3c5-92e1d7a6f480:Failed"
    assert event.data | {"reasons": None} == {
        "message_id": "0b6c9f4e-7d21-4a8f-b3c5-92e1d7a6f480",
        "conversation_id": CONVERSATION_ID,
        "integration_id": INTEGRATION_ID,
        "customer_id": CUSTOMER_ID,
        "customer_id_type": "Phone",
        "status": "Failed",
        "reasons": None,
        "is_final_receipt": True,
        "direction": "Inbound",
    }
    assert event.data["reasons"][0]["code"] == "MediaTypeNotAllowed"


def test_unknown_message_type_is_recorded_but_not_published() -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload["type"] = "Unknown"
    [event] = normalise_open(payload)
    assert (event.event_type, event.published) == (UNHANDLED, False)
    assert event.data["payload"] == payload


def test_without_a_known_conversation_the_customer_orders_the_events() -> None:
    [event] = normalise_open("outbound-agent-text.json", conversation_id=None)
    assert event.conversation_id is None
    assert event.ordering_key == f"customer:{INTEGRATION_ID}:{CUSTOMER_ID}"
    document = cloud_event_build(event=event, tenant_slug="acme")
    assert "subject" not in document


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.pop("id"), "id is missing"),
        (lambda p: p.update(id=""), "id is missing"),
        (lambda p: p.update(id="x" * 300), "longer than"),
        (lambda p: p.pop("type"), "type is missing"),
        (lambda p: p["channel"].pop("time"), "channel.time"),
        (lambda p: p["channel"].update(time="yesterday"), "channel.time"),
    ],
)
def test_open_messaging_shape_errors(mutate: Any, message: str) -> None:
    payload = genesys_example("outbound-agent-text.json")
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        normalise_open(payload)


def test_integration_candidates_prefer_channel_id_then_the_direction() -> None:
    payload = genesys_example("outbound-agent-text.json")
    assert open_messaging_integration_candidates(payload) == [
        INTEGRATION_ID,
        CUSTOMER_ID,
    ]
    del payload["channel"]["id"]
    assert open_messaging_integration_candidates(payload)[0] == INTEGRATION_ID
    payload["direction"] = "Inbound"
    payload["channel"]["to"], payload["channel"]["from"] = (
        payload["channel"]["from"],
        payload["channel"]["to"],
    )
    assert open_messaging_integration_candidates(payload)[0] == INTEGRATION_ID
    for bad in ([], {"channel": "x"}, {"channel": {}}):
        with pytest.raises(PayloadError):
            open_messaging_integration_candidates(bad)


# --- Notifications ------------------------------------------------------------------------


def test_customer_end_in_eventbridge_becomes_conversation_disconnected() -> None:
    [event] = normalise_notification("notification-conversation-disconnect.json")
    assert event == GenesysEvent(
        event_id="1f7c3b52-8e4a-4d9b-a6f0-2c5e8b1d7a93",  # the EventBridge envelope id
        event_type="conversation.disconnected",
        time="2026-01-31T12:30:02.114Z",
        conversation_id=CONVERSATION_ID,
        ordering_key=CONVERSATION_ID,
        data={
            "conversation_id": CONVERSATION_ID,
            "participant_id": "d2b7e4a1-6c93-4f08-8e5d-1a9c3f7b2e60",
            "participant_kind": "customer",
            "user_id": None,
            "queue_id": None,
            "disconnect_type": "CLIENT",
        },
    )


def test_user_start_becomes_participant_joined() -> None:
    [event] = normalise_notification("notification-user-start.json")
    assert event.event_type == "participant.joined"
    assert event.event_id == "b1e7c3a9-4d2f-4e68-9a05-7c3d1f8b2e64"  # metadata.CorrelationId
    assert event.time == "2026-01-31T12:01:02.000Z"
    assert event.data == {
        "conversation_id": CONVERSATION_ID,
        "participant_id": "9f3c7a1e-2b5d-4e86-a0c4-8d6b1e9f2c57",
        "participant_kind": "agent",
        "user_id": USER_ID,
        "queue_id": "7b2e9c4a-5d13-4a6f-8e07-1c9d3b5f2a86",
        "disconnect_type": None,
    }


def test_acd_start_is_a_queue_joining() -> None:
    [event] = normalise_notification("notification-acd-start.json")
    assert event.event_type == "participant.joined"
    assert event.event_id == "e5a2d8c1-9b4f-4a37-8c6e-2f1b7d3a9e50"
    assert event.data["participant_kind"] == "queue"
    assert event.data["user_id"] is None
    assert event.data["queue_id"] == "7b2e9c4a-5d13-4a6f-8e07-1c9d3b5f2a86"


def test_user_end_with_transfer_gives_participant_left_then_conversation_transferred() -> None:
    left, transferred = normalise_notification("notification-user-end-transfer.json")
    correlation_id = "3c8f1a6d-7e2b-4d94-b0a7-5e9c2d4f1b38"
    assert (left.event_type, left.event_id) == ("participant.left", correlation_id)
    assert (transferred.event_type, transferred.event_id) == (
        "conversation.transferred",
        correlation_id + ":transferred",
    )
    assert left.data == transferred.data
    assert transferred.data["disconnect_type"] == "TRANSFER"
    assert transferred.data["user_id"] == USER_ID
    assert transferred.ordering_key == CONVERSATION_ID


@pytest.mark.parametrize(
    "disconnect_type",
    ["CONSULT_TRANSFER", "FORWARD_TRANSFER", "CONFERENCE_TRANSFER", "NO_ANSWER_TRANSFER"],
)
def test_every_transfer_kind_counts(disconnect_type: str) -> None:
    payload = genesys_example("notification-user-end-transfer.json")
    payload["eventBody"]["disconnectType"] = disconnect_type
    types = [e.event_type for e in normalise_notification(payload)]
    assert types == ["participant.left", "conversation.transferred"]


def test_user_end_without_transfer_and_acd_end_are_only_participant_left() -> None:
    payload = genesys_example("notification-user-end-transfer.json")
    payload["eventBody"]["disconnectType"] = "CLIENT"
    assert [e.event_type for e in normalise_notification(payload)] == ["participant.left"]
    payload = genesys_example("notification-user-end-transfer.json")
    payload["topicName"] = payload["topicName"].replace("user.end", "acd.end")
    [event] = normalise_notification(payload)
    assert (event.event_type, event.data["participant_kind"]) == ("participant.left", "queue")


def test_presence_in_eventbridge_becomes_agent_presence() -> None:
    notification = notification_unwrap(genesys_example("notification-presence-eventbridge.json"))
    assert notification.organization_id == ORG_ID
    [event] = notification_normalise(notification)
    assert event == GenesysEvent(
        event_id="8d3f6b1a-2c7e-4a95-b4d0-6e1a9c5f3b27",
        event_type="agent.presence",
        time="2026-01-31T11:58:40.000Z",
        conversation_id=None,
        ordering_key=f"user:{USER_ID}",
        data={
            "user_id": USER_ID,
            "changed": "presence",
            "presence": "On Queue",
            "presence_definition_id": "41c7e2b8-6d3a-4f95-8b1e-0a9c5d7f3e26",
            "message": None,
            "routing_status": None,
        },
    )


def test_routing_status_becomes_agent_presence() -> None:
    [event] = normalise_notification("notification-routing-status.json")
    assert event.event_type == "agent.presence"
    assert event.event_id == "2a6e9d3c-5b1f-4e70-8d4a-9c2e7f1b5d86"
    assert event.time == "2026-01-31T12:01:02.000Z"
    assert event.data == {
        "user_id": USER_ID,
        "changed": "routing_status",
        "presence": None,
        "routing_status": "INTERACTING",
    }
    assert event.ordering_key == f"user:{USER_ID}"


def test_unknown_topics_are_recorded_but_not_published() -> None:
    payload = genesys_example("notification-user-start.json")
    payload["topicName"] = payload["topicName"].replace("user.start", "wrapup")
    [event] = normalise_notification(payload)
    assert (event.event_type, event.published) == (UNHANDLED, False)
    assert event.conversation_id == CONVERSATION_ID
    payload["topicName"] = "v2.routing.queues.q1.conversations.messages"
    [event] = normalise_notification(payload)
    assert (event.event_type, event.published, event.conversation_id) == (
        UNHANDLED,
        False,
        None,
    )


def test_event_id_falls_back_to_a_hash_of_topic_and_body() -> None:
    payload = genesys_example("notification-user-start.json")
    del payload["metadata"]
    [event] = normalise_notification(payload)
    canonical = json.dumps(payload["eventBody"], sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256((payload["topicName"] + canonical).encode()).hexdigest()
    assert event.event_id == f"sha256:{digest}"
    # Key order does not matter: a redelivery re-serialised differently gets the same id.
    reordered = copy.deepcopy(payload)
    reordered["eventBody"] = dict(reversed(list(payload["eventBody"].items())))
    assert normalise_notification(reordered)[0].event_id == event.event_id


def test_envelope_id_wins_over_correlation_id_and_bare_detail_uses_correlation_id() -> None:
    envelope = genesys_example("notification-conversation-disconnect.json")
    assert normalise_notification(envelope)[0].event_id == envelope["id"]
    bare = envelope["detail"]
    assert normalise_notification(bare)[0].event_id == bare["metadata"]["CorrelationId"]


def test_heartbeat_is_recognised() -> None:
    notification = notification_unwrap(
        {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
    )
    assert notification_is_heartbeat(notification)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        {},
        {"topicName": "", "eventBody": {}},
        {"topicName": "v2.users.x.presence", "eventBody": []},
        {"topicName": 5, "eventBody": {}},
        {"detail": {"eventBody": {}}, "source": "x"},
    ],
)
def test_notification_shape_errors(payload: Any) -> None:
    with pytest.raises(PayloadError):
        notification_unwrap(payload)


def test_time_falls_back_to_the_envelope_when_the_body_has_none() -> None:
    envelope = genesys_example("notification-conversation-disconnect.json")
    del envelope["detail"]["eventBody"]["eventTime"]
    assert normalise_notification(envelope)[0].time == "2026-01-31T12:30:02.000Z"


def test_eventbridge_source_names_the_organisation() -> None:
    source = f"aws.partner/genesys.com/cloud/{ORG_ID}/whatsapp-bridge"
    assert eventbridge_organization_id(source) == ORG_ID
    assert eventbridge_organization_id("nonsense") is None


# --- Parsing and CloudEvents ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"\xff\xfe",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1e400}',
        b'{"a": "\\u0000"}',
        b'{"a": "\\ud800"}',
        b"[" * 100_000 + b"]" * 100_000,
        b"1" * 5000,
        # Each alone in an otherwise plain body, which json_parse does not walk.
        b'{"a": [1.5, 2e400]}',
        b'{"a": "x\\u0000y"}',
        b'{"a": "\\uDC00"}',
        '{"a": "\ud800"}'.encode("utf-8", "surrogatepass"),  # a surrogate as raw UTF-8
        b"[" * 65 + b"]" * 65,
        b'{"a":' * 65 + b"1" + b"}" * 65,
    ],
)
def test_bodies_postgresql_could_not_store_are_rejected(body: bytes) -> None:
    with pytest.raises(PayloadError):
        json_parse(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": [1.5, -2e10], "b": "plain text"}',
        b"[" * 63 + b"]" * 63,
        b'{"a": "Ol\\u00e1 \\ud83d\\ude00"}',  # escapes of valid characters
        '{"a": "한국어"}'.encode(),  # 0xED lead bytes of valid characters
    ],
)
def test_bodies_postgresql_can_store_are_accepted(body: bytes) -> None:
    assert json_parse(body) is not None


def test_times_are_normalised_to_utc_milliseconds() -> None:
    assert time_normalise("2026-01-31T13:00:00+01:00") == "2026-01-31T12:00:00.000Z"
    assert time_normalise("2026-01-31T12:00:00") == "2026-01-31T12:00:00.000Z"
    assert time_normalise(1769862602114) == "2026-01-31T12:30:02.114Z"
    for bad in (None, "", "soon", True, 10**30, 10**400, -(10**400), float("nan")):
        assert time_normalise(bad) is None


@pytest.mark.parametrize(
    "example",
    [
        "outbound-agent-text.json",
        "outbound-agent-image.json",
        "outbound-bot-text.json",
        "outbound-receipt.json",
        "outbound-structured-quick-replies.json",
        "outbound-typing-event.json",
    ],
)
def test_every_open_messaging_example_makes_a_valid_cloud_event(example: str) -> None:
    [event] = normalise_open(example, conversation_id=CONVERSATION_ID)
    assert_cloud_event(event, expected_subject=CONVERSATION_ID)


@pytest.mark.parametrize(
    "example",
    [
        "notification-acd-start.json",
        "notification-conversation-disconnect.json",
        "notification-presence-eventbridge.json",
        "notification-routing-status.json",
        "notification-user-end-transfer.json",
        "notification-user-start.json",
    ],
)
def test_every_notification_example_makes_valid_cloud_events(example: str) -> None:
    for event in normalise_notification(example):
        subject = CONVERSATION_ID if event.event_type != "agent.presence" else None
        assert_cloud_event(event, expected_subject=subject)


def assert_cloud_event(event: GenesysEvent, *, expected_subject: str | None) -> None:
    document = cloud_event_build(event=event, tenant_slug="acme")
    assert event.event_type in EVENT_TYPES
    assert document["specversion"] == "1.0"
    assert document["id"] == event.event_id
    assert document["source"] == "genesys-gateway/acme"
    assert document["type"] == event.event_type
    assert document["tenant"] == "acme"
    assert document["datacontenttype"] == "application/json"
    assert document["time"].endswith("Z")
    assert document.get("subject") == expected_subject
    assert document["data"] == event.data
    json.dumps(document)  # serialisable as published
    assert routing_key(event_type=event.event_type, tenant_slug="acme") == (
        f"{event.event_type}.acme"
    )


ODD_VALUES: list[Any] = [None, True, 0, 5, -1.5, "", "x", [], [1, "a"], {}, {"a": None}]


def _every_path(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    paths: list[tuple[Any, ...]] = []
    for key, child in items:
        paths.append((*prefix, key))
        paths.extend(_every_path(child, (*prefix, key)))
    return paths


def _replaced(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(payload)
    container = copied
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value
    return copied


@pytest.mark.parametrize(
    "example",
    [
        "outbound-agent-text.json",
        "outbound-agent-image.json",
        "outbound-bot-text.json",
        "outbound-receipt.json",
        "outbound-structured-quick-replies.json",
        "outbound-typing-event.json",
    ],
)
def test_any_field_of_any_type_gives_events_or_a_payload_error(example: str) -> None:
    """Every field of the example replaced by every odd value: never another exception."""
    original = genesys_example(example)
    for path in _every_path(original):
        for value in ODD_VALUES:
            payload = _replaced(original, path, value)
            try:
                integration_id = open_messaging_integration_candidates(payload)[0]
                found = open_messaging_normalise(
                    payload=payload, integration_id=integration_id, conversation_id=None
                )
            except PayloadError:
                continue
            for event in found:
                json.dumps(cloud_event_build(event=event, tenant_slug="acme"))


@pytest.mark.parametrize(
    "example",
    [
        "notification-acd-start.json",
        "notification-conversation-disconnect.json",
        "notification-presence-eventbridge.json",
        "notification-routing-status.json",
        "notification-user-end-transfer.json",
        "notification-user-start.json",
    ],
)
def test_any_notification_field_of_any_type_gives_events_or_a_payload_error(
    example: str,
) -> None:
    original = genesys_example(example)
    for path in _every_path(original):
        for value in ODD_VALUES:
            payload = _replaced(original, path, value)
            try:
                found = notification_normalise(notification_unwrap(payload))
            except PayloadError:
                continue
            for event in found:
                json.dumps(cloud_event_build(event=event, tenant_slug="acme"))

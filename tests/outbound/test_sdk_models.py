"""Our Genesys request bodies, field by field against the official SDK's models."""

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.services.messages import (
    REPLY_TYPES,
    WHATSAPP_ERROR_REASONS,
    message_body,
    receipt_body,
    structured_response_body,
    typing_body,
)
from tests.conftest import genesys_example
from tests.outbound.sdk import EVENT_OVERRIDES, sdk_problems

WHEN = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_the_checker_catches_a_misspelt_field_and_a_wrong_enum() -> None:
    body = {"channel": {"messageid": "x", "time": "2026-01-31T12:00:00.000Z"}}
    assert sdk_problems(body, "OpenInboundNormalizedMessage") == [
        "$.channel.messageid: unknown property for OpenInboundMessageMessagingChannel"
    ]
    receipt = {"id": "m", "status": "Read"}
    assert sdk_problems(receipt, "OpenInboundNormalizedReceipt") == [
        "$.status: invalid value 'Read'; allowed: Sent, Delivered, Failed, Published, Removed"
    ]


def test_the_team_examples_conform_to_the_sdk() -> None:
    assert sdk_problems(genesys_example("inbound-text.json"), "OpenInboundNormalizedMessage") == []
    assert (
        sdk_problems(genesys_example("inbound-receipt.json"), "OpenInboundNormalizedReceipt") == []
    )
    assert (
        sdk_problems(
            genesys_example("inbound-typing-event.json"),
            "OpenInboundNormalizedEvent",
            overrides=EVENT_OVERRIDES,
        )
        == []
    )


def test_a_full_inbound_message_body_conforms_to_the_sdk() -> None:
    body = message_body(
        message_id="wamid.1",
        sender={
            "id": "+15550123456",
            "id_type": "Phone",
            "nickname": "Maria Lopez",
            "first_name": "Maria",
            "last_name": "Lopez",
        },
        text="Hello",
        attachments=[
            {
                "media_type": "Image",
                "url": "https://cdn.example/a.jpg",
                "mime": "image/jpeg",
                "filename": "a.jpg",
            }
        ],
        metadata={"waPhoneNumberId": "106540352242922"},
        timestamp=WHEN,
    )
    assert sdk_problems(body, "OpenInboundNormalizedMessage") == []
    assert body["channel"]["time"] == "2026-01-31T12:00:00.000Z"


def test_every_receipt_body_conforms_to_the_sdk() -> None:
    for status in ("delivered", "read", "failed"):
        body = receipt_body(
            message_id="c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60",
            status=status,
            recipient={"id": "+15550123456", "id_type": "Phone"},
            timestamp=WHEN,
            reason={"code": "131047", "message": "Re-engagement message"},
        )
        assert sdk_problems(body, "OpenInboundNormalizedReceipt") == [], status


def test_every_mapped_whatsapp_error_is_a_genesys_reason_code() -> None:
    for code in [*WHATSAPP_ERROR_REASONS, "999999"]:
        body = receipt_body(
            message_id="m",
            status="failed",
            recipient={"id": "+15550123456"},
            reason={"code": code, "message": "x"},
        )
        assert sdk_problems(body, "OpenInboundNormalizedReceipt") == [], code


def test_the_typing_event_body_conforms_to_the_sdk() -> None:
    body = typing_body(sender={"id": "+15550123456", "id_type": "Phone"})
    assert sdk_problems(body, "OpenInboundNormalizedEvent", overrides=EVENT_OVERRIDES) == []


def test_every_structured_response_body_conforms_to_the_sdk() -> None:
    for reply_type in REPLY_TYPES:
        body = structured_response_body(
            message_id="wamid.reply",
            sender={"id": "+15550123456", "id_type": "Phone", "nickname": "Maria"},
            reply={
                "type": reply_type,
                "text": "Track my order",
                "payload": "TRACK_ORDER",
                "reply_to": "c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60",
            },
            timestamp=WHEN,
        )
        assert sdk_problems(body, "OpenInboundStructuredResponseMessage") == [], reply_type


_TEXT = st.text(min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(
    reply_type=st.sampled_from(REPLY_TYPES),
    text=st.none() | _TEXT,
    payload=_TEXT,
    reply_to=st.uuids().map(str),
    id_type=st.sampled_from(["Phone", "Email", "Opaque"]),
)
def test_any_valid_reply_makes_a_structured_response_the_sdk_accepts(
    reply_type: str, text: str | None, payload: str, reply_to: str, id_type: str
) -> None:
    reply = {"type": reply_type, "payload": payload, "reply_to": reply_to}
    if text is not None:
        reply["text"] = text
    body = structured_response_body(
        message_id="wamid.generated",
        sender={"id": "customer-1", "id_type": id_type},
        reply=reply,
        timestamp=WHEN,
    )
    assert sdk_problems(body, "OpenInboundStructuredResponseMessage") == []
    assert body["buttonResponse"]["payload"] == payload
    assert body["originatingMessageId"] == reply_to

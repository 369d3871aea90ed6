"""The SDK-model checker on its own."""

from emulator.validation import Issue, allowed_values, require, validate
from tests.emulator.conftest import example


def test_examples_fit_their_models() -> None:
    assert validate(example("inbound-text.json"), "OpenInboundNormalizedMessage") == []
    assert validate(example("inbound-receipt.json"), "OpenInboundNormalizedReceipt") == []
    assert validate(example("outbound-agent-image.json"), "ConversationNormalizedMessage") == []
    assert validate(example("conversation.json"), "Conversation") == []


def test_nested_list_paths_are_reported() -> None:
    body = example("inbound-image.json")
    body["content"][0]["attachment"]["mediaType"] = "Picture"
    body["content"][0]["attachment"]["size"] = 3

    issues = validate(body, "OpenInboundNormalizedMessage")

    assert [issue.field for issue in issues] == [
        "content[0].attachment.mediaType",
        "content[0].attachment.size",
    ]


def test_types_are_strict() -> None:
    body = {"events": [{"eventType": "Typing", "typing": {"type": "On", "duration": "5"}}]}

    issues = validate(body, "OpenInboundNormalizedEvent", {"events": "list[OpenMessageEvent]"})

    assert issues == [Issue("events[0].typing.duration", "expected an integer, got string")]
    assert (
        validate({"isFinalReceipt": 1}, "OpenInboundNormalizedReceipt")[0].field == "isFinalReceipt"
    )
    assert validate([], "ParticipantAttributes")[0].field == "$"


def test_allowed_values_come_from_the_sdk_setter() -> None:
    assert allowed_values("OpenMessagingFromRecipient", "id_type") == ("Email", "Phone", "Opaque")
    assert allowed_values("OpenMessagingFromRecipient", "nickname") is None


def test_require_reports_missing_and_empty() -> None:
    issues = require({"channel": {"from": {"id": ""}}}, ["channel.from.id", "channel.time"])

    assert [issue.field for issue in issues] == ["channel.from.id", "channel.time"]


def test_timestamps_need_a_time_and_a_zone() -> None:
    def issues(time: str) -> list[Issue]:
        body = {"channel": {"time": time}}
        return validate(body, "OpenInboundNormalizedEvent")

    assert issues("2026-01-31T12:00:00.000Z") == []
    assert issues("2026-01-31T12:00:00+02:00") == []
    assert [i.field for i in issues("2026-01-31T12:00:00")] == ["channel.time"]
    assert [i.field for i in issues("2026-01-31")] == ["channel.time"]
    assert [i.field for i in issues("1769860800")] == ["channel.time"]

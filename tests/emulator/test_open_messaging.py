"""Open Messaging inbound: message, receipt and event endpoints."""

import pytest

from tests.emulator.conftest import INTEGRATION_ID, Genesys, example, send_text

INBOUND = f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open"


def test_inbound_message_creates_a_conversation_and_prefetches_its_id(genesys: Genesys) -> None:
    body = example("inbound-text.json")

    response = genesys.call(
        "POST", f"{INBOUND}/message", params={"prefetchConversationId": "true"}, json=body
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["type"] == "Text"
    assert answer["text"] == body["text"]
    assert answer["channel"]["messageId"] == body["channel"]["messageId"]
    assert answer["channel"]["from"]["id"] == "+15550123456"
    assert answer["channel"]["id"] == INTEGRATION_ID
    conversation = genesys.call("GET", f"/api/v2/conversations/{answer['conversationId']}").json()
    assert conversation["state"] == "connected"
    purposes = [p["purpose"] for p in conversation["participants"]]
    assert purposes == ["customer", "acd", "agent"]


def test_conversation_id_only_with_prefetch(genesys: Genesys) -> None:
    response = genesys.call("POST", f"{INBOUND}/message", json=example("inbound-text.json"))

    assert response.status_code == 200
    assert "conversationId" not in response.json()
    assert response.json()["id"]


def test_next_message_continues_the_open_conversation(genesys: Genesys) -> None:
    first = send_text(genesys, "hello").json()
    second = send_text(genesys, "are you there?").json()
    other_customer = send_text(genesys, "hi", customer="+15550999999").json()

    assert second["conversationId"] == first["conversationId"]
    assert other_customer["conversationId"] != first["conversationId"]
    assert second["id"] != first["id"]


def test_message_after_disconnect_starts_a_new_conversation(genesys: Genesys) -> None:
    first = send_text(genesys, "hello").json()
    genesys.call(
        "PATCH",
        f"/api/v2/conversations/messages/{first['conversationId']}",
        json={"state": "disconnected"},
    )

    second = send_text(genesys, "hello again").json()

    assert second["conversationId"] != first["conversationId"]


def test_same_message_id_is_deduplicated(genesys: Genesys) -> None:
    first = send_text(genesys, "once", message_id="wamid.dup-1")
    again = send_text(genesys, "once", message_id="wamid.dup-1")

    assert again.status_code == 200
    assert again.json() == first.json()
    conversation_id = first.json()["conversationId"]
    messages = genesys.call("GET", f"/api/v2/conversations/messages/{conversation_id}").json()
    customer = messages["participants"][0]
    assert len(customer["messages"]) == 1


def test_inbound_image_keeps_the_attachment(genesys: Genesys) -> None:
    body = example("inbound-image.json")

    answer = genesys.call("POST", f"{INBOUND}/message", json=body).json()

    attachment = answer["content"][0]["attachment"]
    assert answer["content"][0]["contentType"] == "Attachment"
    assert attachment["url"] == body["content"][0]["attachment"]["url"]
    assert attachment["mediaType"] == "Image"


def test_unknown_integration_is_not_found(genesys: Genesys) -> None:
    response = genesys.call(
        "POST",
        "/api/v2/conversations/messages/00000000-0000-4000-8000-000000000000/inbound/open/message",
        json=example("inbound-text.json"),
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not.found"


def test_receipt_is_recorded_on_the_outbound_message(genesys: Genesys) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    reply = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})
    receipt = example("inbound-receipt.json")
    receipt["id"] = reply["message_id"]

    response = genesys.call("POST", f"{INBOUND}/receipt", json=receipt)

    assert response.status_code == 200
    assert response.json()["type"] == "Receipt"
    assert response.json()["status"] == "Delivered"
    assert response.json()["direction"] == "Outbound"
    bulk = genesys.call(
        "POST",
        f"/api/v2/conversations/messages/{conversation_id}/messages/bulk",
        json=[reply["message_id"]],
    ).json()
    message = bulk["entities"][0]
    assert message["status"] == "delivery-success"
    assert message["normalizedReceipts"][0]["status"] == "Delivered"


@pytest.mark.parametrize("status", ["Sent", "Published", "Removed"])
def test_receipt_statuses_genesys_does_not_support_are_rejected(
    genesys: Genesys, status: str
) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    reply = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})
    receipt = example("inbound-receipt.json") | {"id": reply["message_id"], "status": status}

    error = _rejected(genesys, "receipt", receipt)

    assert [d["fieldName"] for d in error["details"]] == ["status"]
    assert "Delivered or Failed" in error["message"]
    [logged] = genesys.inspect(f"requests?path_prefix={INBOUND}/receipt")["entities"]
    assert (logged["valid"], logged["status"]) == (False, 400)
    message = genesys.call(
        "GET", f"/api/v2/conversations/messages/{conversation_id}/messages/{reply['message_id']}"
    ).json()
    assert message["status"] == "sent"
    assert "normalizedReceipts" not in message


def test_failed_receipt_is_accepted(genesys: Genesys) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    reply = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})
    receipt = example("inbound-receipt.json") | {"id": reply["message_id"], "status": "Failed"}

    response = genesys.call("POST", f"{INBOUND}/receipt", json=receipt)

    assert response.status_code == 200, response.text
    message = genesys.call(
        "GET", f"/api/v2/conversations/messages/{conversation_id}/messages/{reply['message_id']}"
    ).json()
    assert message["status"] == "delivery-failed"


def test_receipt_for_unknown_message_is_not_found(genesys: Genesys) -> None:
    response = genesys.call("POST", f"{INBOUND}/receipt", json=example("inbound-receipt.json"))

    assert response.status_code == 404


def test_typing_event_is_accepted(genesys: Genesys) -> None:
    send_text(genesys, "hello")

    response = genesys.call("POST", f"{INBOUND}/event", json=example("inbound-typing-event.json"))

    assert response.status_code == 200
    assert response.json()["type"] == "Event"
    assert response.json()["events"][0]["typing"] == {"type": "On", "duration": 5000}


@pytest.mark.parametrize(
    ("endpoint", "name"),
    [
        ("message", "inbound-text.json"),
        ("message", "inbound-image.json"),
        ("event", "inbound-typing-event.json"),
    ],
)
def test_shared_examples_pass_validation(genesys: Genesys, endpoint: str, name: str) -> None:
    response = genesys.call("POST", f"{INBOUND}/{endpoint}", json=example(name))

    assert response.status_code == 200, response.text
    entry = genesys.inspect(f"requests?path_prefix={INBOUND}/{endpoint}")["entities"][-1]
    assert entry["valid"] is True
    assert entry["issues"] == []


def _rejected(genesys: Genesys, endpoint: str, body: object) -> dict:
    response = genesys.call("POST", f"{INBOUND}/{endpoint}", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "bad.request"
    assert error["status"] == 400
    assert error["contextId"]
    assert error["errors"] == []
    assert all(d["errorCode"] == "invalid.property" for d in error["details"])
    return error


def test_unknown_field_is_rejected_with_its_path(genesys: Genesys) -> None:
    body = example("inbound-text.json")
    body["channel"]["from"]["nickName"] = body["channel"]["from"].pop("nickname")

    error = _rejected(genesys, "message", body)

    assert error["details"] == [
        {"errorCode": "invalid.property", "fieldName": "channel.from.nickName"}
    ]


def test_wrong_type_is_rejected(genesys: Genesys) -> None:
    body = example("inbound-text.json")
    body["metadata"] = {"count": 3}

    error = _rejected(genesys, "message", body)

    assert [d["fieldName"] for d in error["details"]] == ["metadata.count"]


def test_bad_enum_value_is_rejected(genesys: Genesys) -> None:
    body = example("inbound-receipt.json")
    body["status"] = "Read"  # not in OpenInboundNormalizedReceipt.status

    error = _rejected(genesys, "receipt", body)

    assert [d["fieldName"] for d in error["details"]] == ["status"]
    assert "Delivered" in error["message"]


def test_enum_case_must_match(genesys: Genesys) -> None:
    body = example("inbound-text.json")
    body["channel"]["from"]["idType"] = "phone"

    error = _rejected(genesys, "message", body)

    assert [d["fieldName"] for d in error["details"]] == ["channel.from.idType"]


def test_missing_required_fields_are_rejected(genesys: Genesys) -> None:
    body = example("inbound-text.json")
    del body["channel"]["time"]
    del body["channel"]["from"]["idType"]
    del body["text"]

    error = _rejected(genesys, "message", body)

    fields = {d["fieldName"] for d in error["details"]}
    assert fields == {"channel.time", "channel.from.idType", "text"}


def test_bad_timestamp_and_non_json_are_rejected(genesys: Genesys) -> None:
    body = example("inbound-text.json")
    body["channel"]["time"] = "yesterday"
    assert _rejected(genesys, "message", body)["details"][0]["fieldName"] == "channel.time"

    response = genesys.call(
        "POST",
        f"{INBOUND}/message",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_typing_event_without_typing_object_is_rejected(genesys: Genesys) -> None:
    body = example("inbound-typing-event.json")
    del body["events"][0]["typing"]

    error = _rejected(genesys, "event", body)

    assert [d["fieldName"] for d in error["details"]] == ["events[0].typing"]


def test_rejected_requests_are_logged_as_invalid(genesys: Genesys) -> None:
    body = example("inbound-text.json")
    body["txet"] = "typo"
    genesys.call("POST", f"{INBOUND}/message", json=body)

    entry = genesys.inspect(f"requests?path_prefix={INBOUND}")["entities"][-1]

    assert entry["valid"] is False
    assert entry["model"] == "OpenInboundNormalizedMessage"
    assert entry["issues"][0]["field"] == "txet"
    assert entry["status"] == 400
    assert entry["headers"]["authorization"] == "Bearer [redacted]"


def test_a_well_behaved_session_leaves_only_valid_requests(genesys: Genesys) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    genesys.call("POST", f"{INBOUND}/message", json=example("inbound-image.json"))
    genesys.call("POST", f"{INBOUND}/event", json=example("inbound-typing-event.json"))
    reply = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})
    genesys.call(
        "POST",
        f"{INBOUND}/receipt",
        json=example("inbound-receipt.json") | {"id": reply["message_id"]},
    )
    genesys.call(
        "PATCH", f"/api/v2/conversations/messages/{conversation_id}", json={"state": "disconnected"}
    )

    entries = genesys.inspect("requests")["entities"]

    checked = [e for e in entries if e["model"] is not None]
    assert len(checked) == 6  # the token request and five bodies
    assert all(e["valid"] for e in checked), [e["issues"] for e in checked]
    assert all(e["status"] < 300 for e in entries)


def test_body_must_be_sent_as_json(genesys: Genesys) -> None:
    response = genesys.call(
        "POST",
        f"{INBOUND}/message",
        data=b'{"text": "hi"}',
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported.media.type"


def test_concurrent_duplicates_make_one_message(genesys: Genesys) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def post(_: int) -> dict:
        client = Genesys(genesys.url, genesys.client_id, genesys.client_secret)
        client.token = genesys.token  # one session per thread; requests.Session is not thread-safe
        return send_text(client, "same", message_id="wamid.race").json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))

    assert len({a["id"] for a in answers}) == 1
    assert len({a["conversationId"] for a in answers}) == 1
    conversations = genesys.inspect("conversations")["entities"]
    assert [c["messages"] for c in conversations] == [1]


def test_failed_receipt_reason_codes_are_checked(genesys: Genesys) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    reply = genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})
    receipt = example("inbound-receipt.json") | {"id": reply["message_id"], "status": "Failed"}

    bad = genesys.call(
        "POST", f"{INBOUND}/receipt", json=receipt | {"reasons": [{"code": "WindowClosed"}]}
    )
    good = genesys.call(
        "POST",
        f"{INBOUND}/receipt",
        json=receipt | {"reasons": [{"code": "MessageExpired", "message": "24h window closed"}]},
    )

    assert bad.status_code == 400
    assert bad.json()["details"] == [
        {"errorCode": "invalid.property", "fieldName": "reasons[0].code"}
    ]
    assert good.status_code == 200
    assert good.json()["reasons"][0]["code"] == "MessageExpired"
    data = genesys.call(
        "GET", f"/api/v2/conversations/messages/{conversation_id}/messages/{reply['message_id']}"
    ).json()
    assert data["status"] == "delivery-failed"

"""Fault switches: 429 with Retry-After, 500, slow answers, expired tokens; and reset."""

import time

from tests.emulator.conftest import Genesys, example, send_text


def test_next_calls_answer_429_with_retry_after(genesys: Genesys) -> None:
    genesys.control("faults", {"kind": "429", "count": 2, "retry_after": 7})

    first = genesys.call("GET", "/api/v2/organizations/me")
    second = genesys.call("GET", "/api/v2/users")
    third = genesys.call("GET", "/api/v2/organizations/me")

    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["Retry-After"] == "7"
    body = first.json()
    assert body.keys() == example("error-429.json").keys()
    assert body["code"] == "too.many.requests"
    assert body["limit"]["value"] == 300
    assert genesys.inspect("faults")["entities"] == []


def test_fault_limited_to_a_path_prefix(genesys: Genesys) -> None:
    genesys.control(
        "faults", {"kind": "500", "count": 1, "path_prefix": "/api/v2/conversations/messages"}
    )

    users = genesys.call("GET", "/api/v2/users")
    message = send_text(genesys, "hello")
    retried = send_text(genesys, "hello")

    assert users.status_code == 200
    assert message.status_code == 500
    assert message.json()["status"] == 500
    assert retried.status_code == 200
    entries = genesys.inspect("requests?path_prefix=/api/v2/conversations/messages")["entities"]
    assert entries[0]["fault"] == "500"


def test_fault_on_the_token_endpoint(genesys: Genesys) -> None:
    genesys.control("faults", {"kind": "503", "path_prefix": "/oauth/token"})

    assert genesys.get_token().status_code == 503
    assert genesys.get_token().status_code == 200


def test_slow_responses(genesys: Genesys) -> None:
    genesys.control("faults", {"kind": "slow", "count": 1, "delay_ms": 300})

    started = time.monotonic()
    slow = genesys.call("GET", "/api/v2/organizations/me")
    slow_s = time.monotonic() - started
    started = time.monotonic()
    genesys.call("GET", "/api/v2/organizations/me")
    fast_s = time.monotonic() - started

    assert slow.status_code == 200
    assert slow_s >= 0.3
    assert fast_s < 0.3


def test_expired_tokens(genesys: Genesys) -> None:
    result = genesys.control("faults", {"kind": "expire_tokens"})

    response = genesys.call("GET", "/api/v2/organizations/me")

    assert result["expired"] == 1
    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"
    genesys.login()
    assert genesys.call("GET", "/api/v2/organizations/me").status_code == 200


def test_unknown_fault_kind_is_refused(genesys: Genesys) -> None:
    response = genesys.session.post(f"{genesys.url}/emulator/faults", json={"kind": "fire"})

    assert response.status_code == 400


def test_reset_forgets_conversations_tokens_logs_and_faults(genesys: Genesys) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    genesys.control("faults", {"kind": "500", "count": 5, "path_prefix": "/api/v2/users"})

    genesys.control("reset")

    assert genesys.inspect("faults")["entities"] == []
    assert genesys.inspect("requests")["total"] == 0
    assert genesys.call("GET", "/api/v2/organizations/me").status_code == 401
    genesys.login()
    assert genesys.call("GET", f"/api/v2/conversations/{conversation_id}").status_code == 404

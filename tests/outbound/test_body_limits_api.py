"""Request bodies on every API endpoint: capped at 64 KiB while read, nesting at 32 levels."""

import io
import json
from typing import Any

import pytest
import responses
from rest_framework.test import APIClient

from outbound.parsers import MAX_BODY_BYTES, MAX_DEPTH, body_read, json_nesting_exceeds
from tenants.models import Integration
from tests.outbound.conftest import CONVERSATION_ID, INBOUND_URL, problem

BASE = "/api/v1/tenants/acme"
ENDPOINTS = [
    ("POST", f"{BASE}/messages"),
    ("POST", f"{BASE}/receipts"),
    ("POST", f"{BASE}/typing"),
    ("GET", f"{BASE}/conversations/{CONVERSATION_ID}"),
    ("GET", f"{BASE}/conversations/{CONVERSATION_ID}/messages"),
    ("PATCH", f"{BASE}/conversations/{CONVERSATION_ID}/attributes"),
    ("POST", f"{BASE}/conversations/{CONVERSATION_ID}/disconnect"),
    ("GET", f"{BASE}/organization"),
    ("GET", f"{BASE}/users"),
    ("GET", f"{BASE}/users/2c6f9e1a-4b7d-4a38-9e05-8d1c3b7f2a64"),
]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def send(client: APIClient, method: str, path: str, body: bytes) -> Any:
    return client.generic(method, path, body, content_type="application/json")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_an_oversized_body_is_a_413_problem_and_reaches_nothing(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    method: str,
    path: str,
) -> None:
    filler = "x" * MAX_BODY_BYTES
    body = json.dumps({"message_id": "wamid.big", "text": filler}).encode()
    response = send(authed_client, method, path, body)
    assert response.status_code == 413, response.content
    assert problem(response)["type"].endswith("/request-too-large")
    assert len(genesys.calls) == 0


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_deeply_nested_body_is_a_400_problem_not_a_500(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    method: str,
    path: str,
) -> None:
    body = nested(30_000)  # 60 KB, under the size cap; deep enough to exhaust recursion
    response = send(authed_client, method, path, body)
    assert response.status_code == 400, response.content
    body_problem = problem(response)
    assert body_problem["type"].endswith("/malformed-request")
    assert str(MAX_DEPTH) in body_problem["detail"]
    assert len(genesys.calls) == 0


@pytest.mark.parametrize(("method", "path"), [ENDPOINTS[0], ENDPOINTS[7]])
def test_a_body_that_is_not_json_is_a_415_problem(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    method: str,
    path: str,
) -> None:
    response = authed_client.generic(method, path, b"text=hello", content_type="text/plain")
    assert response.status_code == 415, response.content
    assert problem(response)["type"].endswith("/unsupported-media-type")
    assert len(genesys.calls) == 0


def test_a_body_at_the_size_limit_is_read(
    integration: Integration, authed_client: APIClient, genesys: responses.RequestsMock
) -> None:
    body = json.dumps({"message_id": "m", "from": {"id": "+1"}, "text": ""}).encode()
    body = body.replace(b'"text": ""', b'"text": "' + b"x" * (MAX_BODY_BYTES - len(body)) + b'"')
    assert len(body) == MAX_BODY_BYTES
    response = send(authed_client, "POST", f"{BASE}/messages", body)
    # Read and validated: the text is longer than a WhatsApp message may be.
    assert response.status_code == 400
    assert "text" in problem(response)["errors"]


def test_nesting_up_to_the_limit_is_parsed_and_one_more_level_is_not(
    integration: Integration, authed_client: APIClient, genesys: responses.RequestsMock
) -> None:
    at_limit = send(authed_client, "POST", f"{BASE}/messages", nested(MAX_DEPTH))
    assert at_limit.status_code == 400
    assert problem(at_limit)["type"].endswith("/validation-error")
    beyond = send(authed_client, "POST", f"{BASE}/messages", nested(MAX_DEPTH + 1))
    assert beyond.status_code == 400
    assert problem(beyond)["type"].endswith("/malformed-request")


def test_brackets_inside_strings_do_not_count_as_nesting(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    inbound = genesys.post(INBOUND_URL, json={"id": "g-1"})
    text = '"\\' + "[{" * 500 + ' \\"quoted [[[\\"'
    request = {"message_id": "wamid.brackets", "from": {"id": "+15550123456"}, "text": text}
    response = authed_client.post(f"{BASE}/messages", request, format="json")
    assert response.status_code == 201, response.content
    assert json.loads(inbound.calls[0].request.body)["text"] == text


@pytest.mark.parametrize(
    ("data", "too_deep"),
    [
        (b'{"a": "[[[[[[", "b": [1, [2]]}', False),
        (b'["\\\\", [[[[[1]]]]]]', True),  # an escaped backslash: the quote ends the string
        (b'["\\"[[[[[[[[", [[[[[]]]]]]', True),  # an escaped quote does not end the string
        (b"[[[[[[", True),  # unterminated: still counted
        (b'"' + b'\\"' * 5000, False),  # an unterminated string of escaped quotes
    ],
)
def test_the_nesting_scan(data: bytes, too_deep: bool) -> None:
    assert json_nesting_exceeds(data, 5) is too_deep


def test_a_body_longer_than_declared_is_cut_off_at_the_limit() -> None:
    stream = io.BytesIO(b"x" * (MAX_BODY_BYTES + 10))
    with pytest.raises(Exception, match="at most") as caught:
        body_read(stream, declared=10, limit=MAX_BODY_BYTES)
    assert getattr(caught.value, "status_code", None) == 413
    assert stream.tell() == MAX_BODY_BYTES + 1  # read no further than one byte past

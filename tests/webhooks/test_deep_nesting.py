"""Deeply nested JSON on the webhook endpoints: a 400 problem, never a 500.

Python's JSON parser and anything that walks a parsed document recursively raise
RecursionError somewhere around a thousand levels; which depth fails depends on how deep
the stack already is. So every depth around the limit is tried, before authentication
(no or a wrong signature) and after it (correctly signed), in a list and in an object,
and nested where a payload field is expected.
"""

import json

import pytest
from django.test import Client

from tenants.models import Conversation, Integration
from tests.conftest import genesys_example
from tests.webhooks.conftest import post_events, post_open_messaging
from webhooks.models import OutboxMessage
from webhooks.payloads.parsing import MAX_DEPTH

pytestmark = pytest.mark.django_db

DEPTHS = [50, 500, 900, 950, 980, 990, 995, 1000, 1010, 1100, 5000, 100_000]


def _nested(depth: int, *, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def _in_payload(example: str, depth: int, *, kind: str, field: str = "extra") -> bytes:
    """A real payload with the nesting in a field: an unknown one, or `metadata`, which
    the gateway stores and publishes as it came."""
    text = json.dumps(genesys_example(example), separators=(",", ":"))
    assert text.endswith("}")
    return (text[:-1] + f',"{field}":{{"x":' + _nested(depth, kind=kind) + "}}").encode()


def _assert_no_500(response: object, body: bytes) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, (status, len(body))
    if status >= 400:
        assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]


@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_open_messaging_deep_nesting_is_never_a_500(
    webhook_client: Client, conversation: Conversation, depth: int, kind: str
) -> None:
    bare = _nested(depth, kind=kind).encode()
    embedded = _in_payload("outbound-agent-text.json", depth, kind=kind)
    stored = _in_payload("outbound-agent-text.json", depth, kind=kind, field="metadata")
    for body in (bare, embedded, stored):
        _assert_no_500(post_open_messaging(webhook_client, body, secret=None), body)
        wrong = "wrong-secret-0123456789abc"
        _assert_no_500(post_open_messaging(webhook_client, body, secret=wrong), body)
        _assert_no_500(post_open_messaging(webhook_client, body), body)


@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_events_deep_nesting_is_never_a_500(
    webhook_client: Client, conversation: Conversation, depth: int, kind: str
) -> None:
    bare = _nested(depth, kind=kind).encode()
    embedded = _in_payload("notification-conversation-disconnect.json", depth, kind=kind)
    for body in (bare, embedded):
        _assert_no_500(post_events(webhook_client, body, secret=None), body)
        _assert_no_500(post_events(webhook_client, body, secret="wrong-secret-0123456789"), body)
        _assert_no_500(post_events(webhook_client, body), body)


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, 900, 100_000])
def test_metadata_nested_beyond_the_limit_is_a_400_problem_and_nothing_is_stored(
    webhook_client: Client, integration: Integration, depth: int
) -> None:
    # {"metadata": {"x": <depth levels>}} nests depth + 2 levels, one past the limit here.
    body = _in_payload("outbound-agent-text.json", depth, kind="list", field="metadata")
    response = post_open_messaging(webhook_client, body)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-webhook")
    assert not OutboxMessage.objects.exists()


def test_metadata_nested_up_to_the_limit_is_stored_as_it_came(
    webhook_client: Client, conversation: Conversation
) -> None:
    body = _in_payload("outbound-agent-text.json", MAX_DEPTH - 2, kind="object", field="metadata")
    assert post_open_messaging(webhook_client, body).status_code == 200
    metadata = OutboxMessage.objects.get().cloud_event["data"]["metadata"]
    assert metadata == json.loads(body)["metadata"]

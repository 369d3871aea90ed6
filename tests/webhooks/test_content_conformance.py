"""Every kind of agent message content Genesys' SDK knows, and one it does not, reaches the
outbox as one `message.outbound` carrying the items exactly as sent.

Through the real endpoint: signed like Genesys signs, stored in PostgreSQL.
"""

import copy
import json
import uuid
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenants.models import Conversation
from tests.conftest import genesys_example
from tests.webhooks.conftest import compact, post_open_messaging
from tests.webhooks.sdk_content import content_field, content_item, content_types
from webhooks.models import OutboxMessage
from webhooks.payloads.times import time_now

# Not in the SDK: a kind Genesys may add later.
NEW_KIND = "SomethingNew"


def _message(content: list[Any], *, text: str = "") -> dict[str, Any]:
    payload = copy.deepcopy(genesys_example("outbound-agent-text.json"))
    payload["id"] = str(uuid.uuid4())
    payload["channel"]["time"] = time_now()
    payload["text"] = text
    payload["content"] = content
    return payload


def _minimal_item(content_type: str) -> dict[str, Any]:
    if content_type == NEW_KIND:
        return {"contentType": NEW_KIND, "somethingNew": {"shape": ["unknown", 1, None]}}
    field = content_field(content_type)
    if field is None:
        return {"contentType": content_type}
    return {"contentType": content_type, field: [] if content_type == "Reactions" else {}}


def _published(client: Client, payload: dict[str, Any]) -> dict[str, Any]:
    """Post the message; the one outbox row it made, which must be a pending message."""
    body = json.dumps(payload).encode()
    response = post_open_messaging(client, body)
    assert response.status_code == 200, response.content
    assert response.json() == {"result": "accepted", "event_ids": [payload["id"]]}
    [row] = OutboxMessage.objects.filter(event_id=payload["id"])
    assert (row.event_type, row.status) == ("message.outbound", OutboxMessage.Status.PENDING)
    return row.cloud_event


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", [*content_types(), NEW_KIND])
def test_every_content_type_alone_is_published_with_its_item(
    webhook_client: Client, conversation: Conversation, content_type: str
) -> None:
    item = _minimal_item(content_type)
    document = _published(webhook_client, _message([item]))
    assert document["data"]["content"] == [item]
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.IGNORED).exists()


@pytest.mark.django_db
def test_the_example_payloads_keep_their_content(
    webhook_client: Client, conversation: Conversation
) -> None:
    for name in ("outbound-agent-image.json", "outbound-structured-quick-replies.json"):
        example = genesys_example(name)
        payload = _message(example["content"], text=example.get("text", ""))
        document = _published(webhook_client, payload)
        assert document["data"]["content"] == example["content"]


any_item = st.sampled_from([*content_types(), NEW_KIND]).flatmap(
    lambda content_type: (
        st.just(_minimal_item(content_type))
        if content_type == NEW_KIND
        else content_item(content_type)
    )
)


@pytest.mark.django_db
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=st.lists(any_item, min_size=1, max_size=3), text=st.sampled_from(["", "Hi"]))
def test_generated_content_is_published_exactly_as_sent(
    webhook_client: Client, conversation: Conversation, items: list[dict[str, Any]], text: str
) -> None:
    payload = _message(items, text=text)
    document = _published(webhook_client, payload)
    # What Genesys sent, byte for byte parsed, is what the consumer gets.
    assert document["data"]["content"] == json.loads(compact(payload))["content"]
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.IGNORED).exists()

"""POST /webhooks/genesys/open-messaging: one test per rule of docs/webhooks.md."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants import services
from tenants.models import Conversation, Integration, Tenant
from tests.conftest import WEBHOOK_SECRET, genesys_example
from tests.webhooks.conftest import (
    CONVERSATION_ID,
    CUSTOMER_ID,
    INTEGRATION_ID,
    OPEN_MESSAGING_URL,
    compact,
    post_open_messaging,
)
from tests.webhooks.test_signatures import VECTOR_HEADER, VECTOR_HEX, VECTOR_RAW_BODY
from webhooks.models import OutboxMessage
from webhooks.outbox.wakeup import relay_wake

pytestmark = pytest.mark.django_db


def test_shared_vector_is_accepted_and_stored_as_one_pending_event(
    webhook_client: Client,
    integration: Integration,
    conversation: Conversation,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = webhook_client.post(
            OPEN_MESSAGING_URL,
            data=VECTOR_RAW_BODY.encode(),
            content_type="application/json",
            headers={"X-Hub-Signature-256": VECTOR_HEADER},
        )
    assert response.status_code == 200
    assert response.json() == {
        "result": "accepted",
        "event_ids": ["c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60"],
    }
    message = OutboxMessage.objects.get()
    assert message.tenant == integration.tenant
    assert message.status == OutboxMessage.Status.PENDING
    assert message.event_type == "message.outbound"
    assert message.routing_key == "message.outbound.acme"
    assert message.ordering_key == CONVERSATION_ID
    assert message.cloud_event == {
        "specversion": "1.0",
        "id": "c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60",
        "source": "genesys-gateway/acme",
        "type": "message.outbound",
        "time": "2026-01-31T12:02:00.412Z",
        "subject": CONVERSATION_ID,
        "tenant": "acme",
        "datacontenttype": "application/json",
        "data": {
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
    }
    # The relay is woken after the commit, never from the view itself.
    assert callbacks == [relay_wake]


def test_the_conversation_state_notes_the_event(
    webhook_client: Client, conversation: Conversation
) -> None:
    response = post_open_messaging(
        webhook_client, compact(genesys_example("outbound-agent-text.json"))
    )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.last_event_type == "message.outbound"
    assert conversation.last_event_at.isoformat() == "2026-01-31T12:02:00.412000+00:00"
    assert conversation.state == Conversation.State.ACTIVE


@pytest.mark.parametrize(
    ("example", "event_type"),
    [
        ("outbound-agent-text.json", "message.outbound"),
        ("outbound-agent-image.json", "message.outbound"),
        ("outbound-bot-text.json", "message.outbound"),
        ("outbound-structured-quick-replies.json", "message.outbound"),
        ("outbound-typing-event.json", "agent.typing"),
        ("outbound-receipt.json", "message.receipt"),
    ],
)
def test_every_example_is_accepted(
    webhook_client: Client, conversation: Conversation, example: str, event_type: str
) -> None:
    payload = genesys_example(example)
    response = post_open_messaging(webhook_client, compact(payload))
    assert response.status_code == 200
    message = OutboxMessage.objects.get()
    # A receipt's id names the receipted message, so its status joins the event id.
    event_id = f"{payload['id']}:{payload['status']}" if "status" in payload else payload["id"]
    assert (message.event_id, message.event_type) == (event_id, event_type)
    assert message.cloud_event["subject"] == CONVERSATION_ID


def test_duplicate_delivery_answers_200_and_stores_nothing_new(
    webhook_client: Client, conversation: Conversation, django_capture_on_commit_callbacks
) -> None:
    body = compact(genesys_example("outbound-agent-text.json"))
    assert post_open_messaging(webhook_client, body).status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_open_messaging(webhook_client, body)
    assert response.status_code == 200
    assert response.json()["result"] == "duplicate"
    assert OutboxMessage.objects.count() == 1
    assert callbacks == []  # nothing new to publish


def test_a_redelivery_serialised_differently_is_still_a_duplicate(
    webhook_client: Client, conversation: Conversation
) -> None:
    payload = genesys_example("outbound-agent-text.json")
    assert post_open_messaging(webhook_client, compact(payload)).status_code == 200
    pretty = (b"  " + compact(payload).replace(b",", b", ")) + b"\n"
    response = post_open_messaging(webhook_client, pretty)
    assert (response.status_code, response.json()["result"]) == (200, "duplicate")
    assert OutboxMessage.objects.count() == 1


def test_same_message_id_for_two_tenants_is_two_events(
    webhook_client: Client, conversation: Conversation, other_tenant: Tenant
) -> None:
    services.integration_add(
        tenant=other_tenant, integration_id="other-integration", secret="other-secret-0123456789"
    )
    payload = genesys_example("outbound-agent-text.json")
    assert post_open_messaging(webhook_client, compact(payload)).status_code == 200
    payload["channel"]["id"] = payload["channel"]["from"]["id"] = "other-integration"
    response = post_open_messaging(
        webhook_client, compact(payload), secret="other-secret-0123456789"
    )
    assert response.status_code == 200
    assert sorted(OutboxMessage.objects.values_list("tenant__slug", flat=True)) == [
        "acme",
        "globex",
    ]


def test_previous_secret_is_accepted_during_rotation(
    webhook_client: Client, integration: Integration
) -> None:
    services.integration_add(
        tenant=integration.tenant,
        integration_id=integration.integration_id,
        secret="the-new-secret-0123456789",
    )
    text = genesys_example("outbound-agent-text.json")
    bot = genesys_example("outbound-bot-text.json")
    assert (
        post_open_messaging(webhook_client, compact(text), secret=WEBHOOK_SECRET).status_code == 200
    )
    response = post_open_messaging(webhook_client, compact(bot), secret="the-new-secret-0123456789")
    assert response.status_code == 200
    assert OutboxMessage.objects.count() == 2


def test_dropped_previous_secret_is_rejected(
    webhook_client: Client, integration: Integration
) -> None:
    integration = services.integration_add(
        tenant=integration.tenant,
        integration_id=integration.integration_id,
        secret="the-new-secret-0123456789",
    )
    services.integration_drop_previous_secret(integration=integration)
    body = compact(genesys_example("outbound-agent-text.json"))
    assert post_open_messaging(webhook_client, body, secret=WEBHOOK_SECRET).status_code == 401


def test_hex_signature_is_accepted(webhook_client: Client, integration: Integration) -> None:
    header = f"sha256={VECTOR_HEX}"
    response = post_open_messaging(
        webhook_client, VECTOR_RAW_BODY.encode(), secret=None, **{"X-Hub-Signature-256": header}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": ""},
        {"X-Hub-Signature-256": "sha256=JT9W9gsf2HRtmAGHxH3/BZohcHVZx+ThlpPRqm709dX="},
        {"X-Hub-Signature-256": "JT9W9gsf2HRtmAGHxH3/BZohcHVZx+ThlpPRqm709dw="},
        {"Authorization": f"Bearer {WEBHOOK_SECRET}"},
    ],
)
def test_bad_or_missing_signature_is_401_and_stores_nothing(
    webhook_client: Client, integration: Integration, headers: dict[str, str]
) -> None:
    response = post_open_messaging(webhook_client, VECTOR_RAW_BODY.encode(), secret=None, **headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert not OutboxMessage.objects.exists()


def test_signature_of_another_integration_is_401(
    webhook_client: Client, integration: Integration, other_tenant: Tenant
) -> None:
    services.integration_add(
        tenant=other_tenant, integration_id="other-integration", secret="other-secret-0123456789"
    )
    body = compact(genesys_example("outbound-agent-text.json"))
    response = post_open_messaging(webhook_client, body, secret="other-secret-0123456789")
    assert response.status_code == 401


def test_unknown_integration_is_404(webhook_client: Client, integration: Integration) -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload["channel"]["id"] = payload["channel"]["from"]["id"] = "not-configured"
    response = post_open_messaging(webhook_client, compact(payload))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert not OutboxMessage.objects.exists()


def test_inactive_tenant_is_404(webhook_client: Client, integration: Integration) -> None:
    Tenant.objects.filter(pk=integration.tenant_id).update(is_active=False)
    response = post_open_messaging(
        webhook_client, compact(genesys_example("outbound-agent-text.json"))
    )
    assert response.status_code == 404


def test_integration_is_found_from_the_sender_when_channel_id_is_absent(
    webhook_client: Client, integration: Integration
) -> None:
    payload = genesys_example("outbound-agent-text.json")
    del payload["channel"]["id"]
    response = post_open_messaging(webhook_client, compact(payload))
    assert response.status_code == 200
    assert OutboxMessage.objects.get().cloud_event["data"]["integration_id"] == INTEGRATION_ID


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"{", b'{"id": 1', b"\xff\xfe\x00", b"[]", b"{}", b'{"channel": {}}'],
)
def test_malformed_json_or_no_integration_is_400(
    webhook_client: Client, integration: Integration, body: bytes
) -> None:
    response = post_open_messaging(webhook_client, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()) >= {"type", "title", "status", "detail"}
    assert not OutboxMessage.objects.exists()


def test_signed_payload_of_unknown_shape_is_400(
    webhook_client: Client, integration: Integration
) -> None:
    payload = genesys_example("outbound-agent-text.json")
    del payload["id"]
    response = post_open_messaging(webhook_client, compact(payload))
    assert response.status_code == 400
    assert "id is missing" in response.json()["detail"]
    assert not OutboxMessage.objects.exists()


def test_unknown_message_type_is_200_recorded_as_ignored(
    webhook_client: Client, integration: Integration, django_capture_on_commit_callbacks
) -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload["type"] = "Unknown"
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_open_messaging(webhook_client, compact(payload))
    assert (response.status_code, response.json()["result"]) == (200, "ignored")
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.IGNORED
    assert callbacks == []


def test_without_a_known_conversation_the_event_has_no_subject(
    webhook_client: Client, integration: Integration
) -> None:
    response = post_open_messaging(
        webhook_client, compact(genesys_example("outbound-agent-text.json"))
    )
    assert response.status_code == 200
    message = OutboxMessage.objects.get()
    assert "subject" not in message.cloud_event
    assert message.cloud_event["data"]["conversation_id"] is None
    assert message.ordering_key == f"customer:{INTEGRATION_ID}:{CUSTOMER_ID}"


def test_the_newest_conversation_of_the_customer_is_the_subject(
    webhook_client: Client, conversation: Conversation
) -> None:
    newer = services.conversation_record(
        tenant=conversation.tenant,
        conversation_id="newer-conversation",
        integration=conversation.integration,
        customer_id=CUSTOMER_ID,
    )
    response = post_open_messaging(
        webhook_client, compact(genesys_example("outbound-agent-text.json"))
    )
    assert response.status_code == 200
    assert OutboxMessage.objects.get().cloud_event["subject"] == newer.conversation_id


def test_a_conversation_id_in_the_payload_is_used_and_learned(
    webhook_client: Client, integration: Integration
) -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload["conversationId"] = "conversation-from-payload"
    assert post_open_messaging(webhook_client, compact(payload)).status_code == 200
    assert OutboxMessage.objects.get().cloud_event["subject"] == "conversation-from-payload"
    learned = Conversation.objects.get(conversation_id="conversation-from-payload")
    assert (learned.tenant, learned.integration, learned.customer_id) == (
        integration.tenant,
        integration,
        CUSTOMER_ID,
    )
    assert learned.last_event_type == "message.outbound"


def test_body_over_one_mebibyte_is_413_before_reading(
    webhook_client: Client, integration: Integration
) -> None:
    body = b" " * (1024 * 1024) + compact(genesys_example("outbound-agent-text.json"))
    response = post_open_messaging(webhook_client, body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not OutboxMessage.objects.exists()


def test_body_of_exactly_one_mebibyte_is_read(
    webhook_client: Client, integration: Integration
) -> None:
    payload = compact(genesys_example("outbound-agent-text.json"))
    body = payload + b" " * (1024 * 1024 - len(payload))
    assert post_open_messaging(webhook_client, body).status_code == 200


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405(webhook_client: Client, method: str) -> None:
    response = getattr(webhook_client, method)(OPEN_MESSAGING_URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_the_webhook_path_stays_a_few_queries(
    webhook_client: Client, conversation: Conversation
) -> None:
    body = compact(genesys_example("outbound-agent-text.json"))
    with CaptureQueriesContext(connection) as queries:
        assert post_open_messaging(webhook_client, body).status_code == 200
    # integration, conversation, savepoint + insert + release, state update; the test's
    # own transaction turns the service's BEGIN/COMMIT into two more savepoint queries.
    assert len(queries) <= 8, [q["sql"] for q in queries]


def test_requests_are_counted_by_endpoint_and_result(
    webhook_client: Client, conversation: Conversation
) -> None:
    body = compact(genesys_example("outbound-agent-text.json"))
    post_open_messaging(webhook_client, body)
    post_open_messaging(webhook_client, body)
    post_open_messaging(webhook_client, body, secret="wrong-secret-0000000000")
    metrics = webhook_client.get("/metrics").content.decode()
    for result in ("accepted", "duplicate", "unauthorized"):
        line = next(
            line
            for line in metrics.splitlines()
            if line.startswith("gateway_webhook_requests_total{")
            and f'result="{result}"' in line
            and 'endpoint="open_messaging"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) >= 1


def test_odd_field_types_in_a_signed_payload_do_not_fail_the_webhook(
    webhook_client: Client, conversation: Conversation
) -> None:
    # Regression: a number where a list belongs raised TypeError, i.e. a 500.
    receipt = genesys_example("outbound-receipt.json") | {"reasons": 5}
    typing = genesys_example("outbound-typing-event.json") | {"events": True}
    assert post_open_messaging(webhook_client, compact(receipt)).status_code == 200
    assert post_open_messaging(webhook_client, compact(typing)).status_code == 200
    assert OutboxMessage.objects.count() == 2

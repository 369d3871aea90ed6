"""POST /webhooks/genesys/events: notifications, bare or in an EventBridge envelope."""

import pytest
from django.test import Client

from tenants.models import Conversation, Integration, Tenant
from tests.conftest import genesys_example
from tests.webhooks.conftest import (
    CONVERSATION_ID,
    CUSTOMER_ID,
    EVENTS_SECRET,
    EVENTS_URL,
    USER_ID,
    compact,
    post_events,
    post_open_messaging,
)
from webhooks.models import OutboxMessage
from webhooks.outbox.wakeup import relay_wake

pytestmark = pytest.mark.django_db


def test_customer_end_disconnects_the_conversation_in_the_same_transaction(
    webhook_client: Client, conversation: Conversation, django_capture_on_commit_callbacks
) -> None:
    envelope = genesys_example("notification-conversation-disconnect.json")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_events(webhook_client, compact(envelope))
    assert response.status_code == 200
    assert response.json() == {"result": "accepted", "event_ids": [envelope["id"]]}
    message = OutboxMessage.objects.get()
    assert message.cloud_event == {
        "specversion": "1.0",
        "id": "1f7c3b52-8e4a-4d9b-a6f0-2c5e8b1d7a93",
        "source": "genesys-gateway/acme",
        "type": "conversation.disconnected",
        "time": "2026-01-31T12:30:02.114Z",
        "subject": CONVERSATION_ID,
        "tenant": "acme",
        "datacontenttype": "application/json",
        "data": {
            "conversation_id": CONVERSATION_ID,
            "participant_id": "d2b7e4a1-6c93-4f08-8e5d-1a9c3f7b2e60",
            "participant_kind": "customer",
            "user_id": None,
            "queue_id": None,
            "disconnect_type": "CLIENT",
        },
    }
    assert (message.routing_key, message.ordering_key) == (
        "conversation.disconnected.acme",
        CONVERSATION_ID,
    )
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.DISCONNECTED
    assert conversation.last_event_type == "conversation.disconnected"
    assert callbacks == [relay_wake]


@pytest.mark.parametrize(
    ("example", "types"),
    [
        ("notification-user-start.json", ["participant.joined"]),
        ("notification-acd-start.json", ["participant.joined"]),
        (
            "notification-user-end-transfer.json",
            ["participant.left", "conversation.transferred"],
        ),
        ("notification-conversation-disconnect.json", ["conversation.disconnected"]),
    ],
)
def test_conversation_examples_are_stored_in_order(
    webhook_client: Client, conversation: Conversation, example: str, types: list[str]
) -> None:
    response = post_events(webhook_client, compact(genesys_example(example)))
    assert response.status_code == 200
    stored = list(OutboxMessage.objects.order_by("id"))
    assert [m.event_type for m in stored] == types
    assert {m.ordering_key for m in stored} == {CONVERSATION_ID}
    assert len({m.event_id for m in stored}) == len(types)
    conversation.refresh_from_db()
    assert conversation.last_event_type == types[-1]


def test_transfer_redelivered_stores_nothing_new(
    webhook_client: Client, conversation: Conversation
) -> None:
    body = compact(genesys_example("notification-user-end-transfer.json"))
    assert post_events(webhook_client, body).status_code == 200
    response = post_events(webhook_client, body)
    assert (response.status_code, response.json()["result"]) == (200, "duplicate")
    assert OutboxMessage.objects.count() == 2


def test_bare_detail_and_bearer_token_are_accepted(
    webhook_client: Client, conversation: Conversation
) -> None:
    detail = genesys_example("notification-conversation-disconnect.json")["detail"]
    response = post_events(webhook_client, compact(detail), bearer=True)
    assert response.status_code == 200
    assert OutboxMessage.objects.get().event_id == detail["metadata"]["CorrelationId"]


def test_presence_resolves_the_tenant_from_the_eventbridge_organisation(
    webhook_client: Client, events_tenant: Tenant
) -> None:
    envelope = genesys_example("notification-presence-eventbridge.json")
    response = post_events(webhook_client, compact(envelope), bearer=True)
    assert response.status_code == 200
    message = OutboxMessage.objects.get()
    assert message.tenant == events_tenant
    assert message.routing_key == "agent.presence.acme"
    assert message.ordering_key == f"user:{USER_ID}"
    assert "subject" not in message.cloud_event
    assert message.cloud_event["data"]["presence"] == "On Queue"


def test_routing_status_without_an_organisation_cannot_be_placed_and_is_404(
    webhook_client: Client, events_tenant: Tenant
) -> None:
    body = compact(genesys_example("notification-routing-status.json"))
    response = post_events(webhook_client, body)
    assert response.status_code == 404
    assert not OutboxMessage.objects.exists()


def test_routing_status_in_an_envelope_is_agent_presence(
    webhook_client: Client, events_tenant: Tenant
) -> None:
    envelope = genesys_example("notification-presence-eventbridge.json")
    envelope["id"] = "routing-envelope-1"
    envelope["detail"] = genesys_example("notification-routing-status.json")
    response = post_events(webhook_client, compact(envelope))
    assert response.status_code == 200
    message = OutboxMessage.objects.get()
    assert message.event_type == "agent.presence"
    assert message.cloud_event["data"]["routing_status"] == "INTERACTING"


def test_unknown_conversation_is_learned_from_the_organisation(
    webhook_client: Client, events_tenant: Tenant, integration: Integration
) -> None:
    envelope = genesys_example("notification-conversation-disconnect.json")
    response = post_events(webhook_client, compact(envelope))
    assert response.status_code == 200
    learned = Conversation.objects.get(conversation_id=CONVERSATION_ID)
    assert (learned.tenant, learned.integration, learned.customer_id, learned.state) == (
        events_tenant,
        integration,
        CUSTOMER_ID,
        Conversation.State.DISCONNECTED,
    )


def test_unknown_conversation_is_learned_from_the_integration_address(
    webhook_client: Client, events_tenant: Tenant, integration: Integration
) -> None:
    body = compact(genesys_example("notification-user-start.json"))
    assert post_events(webhook_client, body).status_code == 200
    learned = Conversation.objects.get(conversation_id=CONVERSATION_ID)
    assert (learned.tenant, learned.integration) == (events_tenant, integration)
    # The next notification finds the conversation through the map.
    integration.delete()
    body = compact(genesys_example("notification-user-end-transfer.json"))
    assert post_events(webhook_client, body).status_code == 200
    assert OutboxMessage.objects.count() == 3


def test_unknown_conversation_and_organisation_is_404(
    webhook_client: Client, events_tenant: Tenant
) -> None:
    envelope = genesys_example("notification-conversation-disconnect.json")
    envelope["source"] = "aws.partner/genesys.com/cloud/unknown-org/whatsapp-bridge"
    response = post_events(webhook_client, compact(envelope))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert not OutboxMessage.objects.exists()
    assert not Conversation.objects.exists()


def test_conversation_of_another_tenant_needs_that_tenants_secret(
    webhook_client: Client, conversation: Conversation, other_tenant: Tenant
) -> None:
    body = compact(genesys_example("notification-user-start.json"))
    response = post_events(webhook_client, body, secret="globex-events-secret-000000")
    assert response.status_code == 401
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=AAAA"},
        {"Authorization": "Bearer wrong-secret-0000000000"},
        {"Authorization": f"Basic {EVENTS_SECRET}"},
        {"Authorization": f"Bearer {EVENTS_SECRET}x"},
    ],
)
def test_bad_or_missing_credentials_are_401_and_store_nothing(
    webhook_client: Client, conversation: Conversation, headers: dict[str, str]
) -> None:
    body = compact(genesys_example("notification-conversation-disconnect.json"))
    response = post_events(webhook_client, body, secret=None, **headers)
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert not OutboxMessage.objects.exists()
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ACTIVE


def test_tenant_without_an_events_secret_accepts_nothing(
    webhook_client: Client, conversation: Conversation
) -> None:
    Tenant.objects.filter(pk=conversation.tenant_id).update(events_secret_encrypted="")
    body = compact(genesys_example("notification-user-start.json"))
    assert post_events(webhook_client, body, bearer=True).status_code == 401


def test_unknown_topic_is_200_recorded_as_ignored_and_not_published(
    webhook_client: Client, conversation: Conversation, django_capture_on_commit_callbacks
) -> None:
    payload = genesys_example("notification-user-start.json")
    payload["topicName"] = payload["topicName"].replace("user.start", "wrapup")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_events(webhook_client, compact(payload))
    assert (response.status_code, response.json()["result"]) == (200, "ignored")
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.IGNORED
    assert message.cloud_event["data"]["topic_name"] == payload["topicName"]
    assert callbacks == []
    conversation.refresh_from_db()
    assert conversation.last_event_type == ""  # state tracks published events only


def test_heartbeat_is_200_and_stores_nothing(webhook_client: Client, db: None) -> None:
    body = compact(
        {
            "topicName": "channel.metadata",
            "version": "2",
            "eventBody": {"message": "WebSocket Heartbeat"},
        }
    )
    response = post_events(webhook_client, body, bearer=True)
    assert (response.status_code, response.json()["result"]) == (200, "heartbeat")
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"null",
        b'{"topicName": "v2.users.x.presence"}',
        b'{"version": "0", "id": "x", "source": "s", "detail": {"eventBody": {}}}',
        b'{"topicName": "v2.users.x.presence", "eventBody": "text"}',
    ],
)
def test_malformed_or_unknown_shape_is_400(
    webhook_client: Client, conversation: Conversation, body: bytes
) -> None:
    response = post_events(webhook_client, body, bearer=True)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("raw_time", ["1" + "0" * 400, "-1" + "0" * 400])
def test_an_envelope_time_beyond_any_float_is_no_time_not_a_500(
    webhook_client: Client, conversation: Conversation, raw_time: str
) -> None:
    """Found by the fuzz tests: an integer beyond a double made math.isfinite() raise.

    It is no time, so the event's own time counts, as when the envelope has none."""
    payload = genesys_example("notification-conversation-disconnect.json")
    payload["time"] = "__time__"
    body = compact(payload).replace(b'"__time__"', raw_time.encode())
    response = post_events(webhook_client, body)
    assert response.status_code == 200, response.content
    assert response.json()["result"] == "accepted"
    stored = OutboxMessage.objects.get()
    assert stored.event_type == "conversation.disconnected"


def test_an_envelope_time_of_1e400_is_out_of_range_and_400(
    webhook_client: Client, conversation: Conversation
) -> None:
    payload = genesys_example("notification-conversation-disconnect.json")
    body = compact({**payload, "time": "__time__"}).replace(b'"__time__"', b"1e400")
    response = post_events(webhook_client, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert not OutboxMessage.objects.exists()


def test_body_over_one_mebibyte_is_413(webhook_client: Client, conversation: Conversation) -> None:
    body = compact(genesys_example("notification-user-start.json")) + b" " * (1024 * 1024)
    assert post_events(webhook_client, body).status_code == 413
    assert not OutboxMessage.objects.exists()


def test_get_is_405(webhook_client: Client) -> None:
    response = webhook_client.get(EVENTS_URL)
    assert (response.status_code, response["Allow"]) == (405, "POST")


def test_out_of_order_events_never_move_the_last_event_back(
    webhook_client: Client, conversation: Conversation
) -> None:
    assert (
        post_events(
            webhook_client, compact(genesys_example("notification-user-end-transfer.json"))
        ).status_code
        == 200
    )
    assert (
        post_events(
            webhook_client, compact(genesys_example("notification-user-start.json"))
        ).status_code
        == 200
    )
    conversation.refresh_from_db()
    assert conversation.last_event_type == "conversation.transferred"


@pytest.mark.parametrize(
    "example",
    [
        "conversation.json",
        "error-400.json",
        "error-429.json",
        "inbound-image.json",
        "inbound-receipt.json",
        "inbound-text.json",
        "inbound-typing-event.json",
        "oauth-token-response.json",
        "users-page.json",
    ],
)
def test_example_files_that_are_not_webhooks_are_refused_by_both_endpoints(
    webhook_client: Client, conversation: Conversation, example: str
) -> None:
    body = compact(genesys_example(example))
    open_messaging = post_open_messaging(webhook_client, body)
    events = post_events(webhook_client, body)
    assert open_messaging.status_code in (400, 404), open_messaging.json()
    assert events.status_code == 400, events.json()
    assert not OutboxMessage.objects.exists()

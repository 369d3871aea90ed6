"""The in-process integration cache of the webhook path (tenants/cache.py).

A change made here is seen at once; one made by another process (simulated with
queryset updates, which send no signals) is seen at once for a rotated secret and
within INTEGRATION_CACHE_TTL_S for the rest.
"""

import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants import services
from tenants.cache import integration_auth_get
from tenants.crypto import encrypt
from tenants.models import Conversation, Integration, Tenant
from tests.conftest import genesys_example
from tests.webhooks.conftest import CUSTOMER_ID, INTEGRATION_ID, compact, post_open_messaging
from webhooks.models import OutboxMessage

pytestmark = pytest.mark.django_db

NEW_SECRET = "rotated-webhook-secret-0123456789"


def _agent_message(n: int) -> bytes:
    """An agent message without conversationId, a new message id each time."""
    payload = genesys_example("outbound-agent-text.json")
    payload["id"] = payload["channel"]["messageId"] = f"cache-test-{n}"
    payload.pop("conversationId", None)
    return compact(payload)


def _warm(client: Client) -> None:
    assert post_open_messaging(client, _agent_message(0)).status_code == 200
    assert integration_auth_get(integration_ids=[INTEGRATION_ID]) is not None


def test_a_secret_rotated_here_is_accepted_at_once_and_the_old_one_after_the_overlap_is_not(
    webhook_client: Client, integration: Integration, tenant: Tenant
) -> None:
    _warm(webhook_client)
    services.integration_add(tenant=tenant, integration_id=INTEGRATION_ID, secret=NEW_SECRET)
    assert (
        post_open_messaging(webhook_client, _agent_message(1), secret=NEW_SECRET).status_code == 200
    )
    assert post_open_messaging(webhook_client, _agent_message(2)).status_code == 200  # overlap
    integration.refresh_from_db()
    services.integration_drop_previous_secret(integration=integration)
    response = post_open_messaging(webhook_client, _agent_message(3))
    assert response.status_code == 401
    assert OutboxMessage.objects.count() == 3


def test_a_secret_rotated_by_another_process_is_accepted_with_its_first_webhook(
    webhook_client: Client, integration: Integration
) -> None:
    _warm(webhook_client)
    # A queryset update sends no signal: the cache here still holds the old secret.
    Integration.objects.filter(pk=integration.pk).update(
        secret_encrypted=encrypt(NEW_SECRET), previous_secret_encrypted=""
    )
    assert (
        post_open_messaging(webhook_client, _agent_message(1), secret=NEW_SECRET).status_code == 200
    )
    assert post_open_messaging(webhook_client, _agent_message(2)).status_code == 401
    assert OutboxMessage.objects.count() == 2


def test_a_removed_integration_is_404_at_once(
    webhook_client: Client, integration: Integration
) -> None:
    _warm(webhook_client)
    integration.delete()
    response = post_open_messaging(webhook_client, _agent_message(1))
    assert response.status_code == 404
    assert response.json()["type"].endswith("/unknown-target")


def test_a_deactivated_tenant_is_404_at_once(
    webhook_client: Client, integration: Integration, tenant: Tenant
) -> None:
    _warm(webhook_client)
    tenant.is_active = False
    services.tenant_save(tenant=tenant)
    assert post_open_messaging(webhook_client, _agent_message(1)).status_code == 404
    assert OutboxMessage.objects.count() == 1


def test_a_tenant_deactivated_by_another_process_is_refused_once_the_entry_expires(
    webhook_client: Client,
    integration: Integration,
    tenant: Tenant,
    settings: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _warm(webhook_client)
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)  # no signal here
    # Within the TTL the cached entry answers, as documented.
    assert post_open_messaging(webhook_client, _agent_message(1)).status_code == 200
    later = time.monotonic() + settings.INTEGRATION_CACHE_TTL_S + 1  # type: ignore[attr-defined]
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert post_open_messaging(webhook_client, _agent_message(2)).status_code == 404


def test_a_wrong_signature_is_still_401_after_the_refetch(
    webhook_client: Client, integration: Integration
) -> None:
    _warm(webhook_client)
    response = post_open_messaging(
        webhook_client, _agent_message(1), secret="not-the-secret-0123456"
    )
    assert response.status_code == 401
    assert OutboxMessage.objects.count() == 1


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """The first keyword of each statement, and of each sub-statement of a WITH."""
    found = []
    for query in queries:
        sql = query["sql"].upper()
        found.append(sql.split()[0])
        if found[-1] == "WITH":
            found += [word for word in ("SELECT", "INSERT", "UPDATE") if f"({word} " in sql]
    return found


@pytest.mark.django_db(transaction=True)
def test_the_accept_path_is_one_statement_when_the_integration_is_cached(
    webhook_client: Client, integration: Integration
) -> None:
    _warm(webhook_client)
    with CaptureQueriesContext(connection) as queries:
        assert post_open_messaging(webhook_client, _agent_message(1)).status_code == 200
    # The customer's latest conversation read by the outbox INSERT itself, and its update
    # when there is one: one statement, atomic by itself, so no BEGIN and COMMIT around it.
    expected = ["WITH", "SELECT", "INSERT", "UPDATE"]
    assert _statements(queries) == expected, [q["sql"] for q in queries]
    row = OutboxMessage.objects.get(event_id="cache-test-1")
    assert row.ordering_key == f"customer:{INTEGRATION_ID}:{CUSTOMER_ID}"
    assert "subject" not in row.cloud_event
    assert row.cloud_event["data"]["conversation_id"] is None


@pytest.mark.django_db(transaction=True)
def test_the_accept_path_of_a_known_conversation_is_one_statement_with_its_state_update(
    webhook_client: Client, integration: Integration, conversation: Conversation
) -> None:
    _warm(webhook_client)
    with CaptureQueriesContext(connection) as queries:
        assert post_open_messaging(webhook_client, _agent_message(1)).status_code == 200
    expected = ["WITH", "SELECT", "INSERT", "UPDATE"]
    assert _statements(queries) == expected, [q["sql"] for q in queries]
    conversation.refresh_from_db()
    assert conversation.last_event_type == "message.outbound"
    assert OutboxMessage.objects.filter(ordering_key=conversation.conversation_id).count() == 2
    # The event reads as if its conversation had been known before the INSERT.
    row = OutboxMessage.objects.get(event_id="cache-test-1")
    assert row.cloud_event["subject"] == conversation.conversation_id
    assert row.cloud_event["data"]["conversation_id"] == conversation.conversation_id

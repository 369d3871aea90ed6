"""Events from outside webhooks/ (outbound's delivery outcomes) go through the same outbox."""

from collections.abc import Callable

import pytest
from django.db import transaction

from genesys_gateway.event_sink import SinkEvent, event_emit
from tenants.models import Tenant
from tests.relay.conftest import Consumer, decoded
from webhooks.models import OutboxMessage
from webhooks.outbox.publisher import outbox_publisher_create
from webhooks.outbox.relay import relay_drain

pytestmark = pytest.mark.django_db(transaction=True)


def _succeeded(message_id: str) -> SinkEvent:
    return SinkEvent(
        event_id=f"delivery:{message_id}:succeeded",
        event_type="delivery.succeeded",
        time="2026-11-30T10:00:00.000Z",
        data={"message_id": message_id, "genesys_message_id": "g-1", "conversation_id": "c-9"},
        conversation_id="c-9",
        ordering_key="customer:+15550001",
    )


def test_an_emitted_event_is_stored_once_and_published_as_a_cloudevent(
    tenant: Tenant, consumer_factory: Callable[..., Consumer]
) -> None:
    consumer = consumer_factory(binding_keys=["delivery.*.*"])
    with transaction.atomic():
        assert event_emit(tenant=tenant, event=_succeeded("wamid.1")) is True
    with transaction.atomic():
        assert event_emit(tenant=tenant, event=_succeeded("wamid.1")) is False

    row = OutboxMessage.objects.get(tenant=tenant)
    assert row.ordering_key == "customer:+15550001"
    assert row.routing_key == f"delivery.succeeded.{tenant.slug}"
    publisher = outbox_publisher_create()
    try:
        assert relay_drain(publisher=publisher) == 1
    finally:
        publisher.close()
    (message,) = consumer.collect(unique=1, timeout=5)
    event = decoded(message)
    assert event["type"] == "delivery.succeeded"
    assert event["subject"] == "c-9"
    assert event["data"] == {
        "message_id": "wamid.1",
        "genesys_message_id": "g-1",
        "conversation_id": "c-9",
    }


def test_an_event_emitted_in_a_rolled_back_transaction_is_not_stored(tenant: Tenant) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        event_emit(tenant=tenant, event=_succeeded("wamid.2"))
        raise RuntimeError("the caller's state change failed")
    assert not OutboxMessage.objects.filter(tenant=tenant).exists()

"""What the broker says about each message: routed, unrouted, nacked; and what it costs."""

import time
import uuid
from collections.abc import Callable, Iterator
from io import StringIO

import amqp
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tenants.models import Tenant
from tests.relay.conftest import Consumer, broker_connect, decoded, outbox_write
from webhooks.models import OutboxMessage
from webhooks.outbox.exchange import unrouted_name
from webhooks.outbox.publisher import outbox_publisher_create
from webhooks.outbox.relay import relay_drain, relay_publish_batch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_channel() -> Iterator[amqp.Channel]:
    conn = broker_connect()
    channel = conn.channel()
    yield channel
    # Queues made by _full_queue would otherwise refuse later tests' events.
    for name in getattr(channel, "full_queues", []):
        channel.queue_delete(name)
    conn.close()


def _full_queue(channel: amqp.Channel, *, binding: str, max_length: int) -> str:
    """A queue bound to `binding` that refuses (nacks) publishes once it holds max_length.

    Not durable, so the broker confirms what it stores at once (no disk write to wait for):
    acks of the first messages then come before the nacks of the rest, and RabbitMQ sends
    those nacks as one `multiple` frame that also spans the acked tags.
    """
    name = f"relay-full-{uuid.uuid4().hex[:8]}"
    arguments = {"x-max-length": max_length, "x-overflow": "reject-publish"}
    channel.queue_declare(name, durable=False, auto_delete=False, arguments=arguments)
    channel.queue_bind(name, settings.EVENTS_EXCHANGE, binding)
    channel.full_queues = [*getattr(channel, "full_queues", []), name]  # type: ignore[attr-defined]  # test bookkeeping
    return name


def _drain_queue(channel: amqp.Channel, name: str) -> list[amqp.Message]:
    messages = []
    while (message := channel.basic_get(name, no_ack=True)) is not None:
        messages.append(message)
    return messages


def test_unroutable_event_goes_to_the_unrouted_queue_and_does_not_hold_up_its_conversation(
    tenant: Tenant, consumer_factory: Callable[..., Consumer], broker_channel: amqp.Channel
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    _drain_queue(broker_channel, unrouted_name(settings.EVENTS_EXCHANGE))
    # Nothing is bound to participant.joined.*: the alternate exchange takes it.
    (unroutable,) = outbox_write(
        tenant=tenant, keys=["conv-1"], per_key=1, event_type="participant.joined"
    )
    (behind,) = outbox_write(tenant=tenant, keys=["conv-1"], per_key=1)
    publisher = outbox_publisher_create()
    try:
        result = relay_publish_batch(publisher=publisher)
    finally:
        publisher.close()
    assert (result.claimed, result.published, result.failed) == (2, 2, 0)
    assert consumer.collect(unique=1, timeout=5)[0].properties["message_id"] == behind.event_id
    (parked,) = _drain_queue(broker_channel, unrouted_name(settings.EVENTS_EXCHANGE))
    assert parked.properties["message_id"] == unroutable.event_id
    assert decoded(parked) == unroutable.cloud_event
    unroutable.refresh_from_db()
    assert (unroutable.status, unroutable.attempts, unroutable.last_error) == (
        OutboxMessage.Status.PUBLISHED,
        0,
        "",
    )


@override_settings(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_BASE_S=0.05, OUTBOX_RETRY_MAX_S=0.1)
def test_nacked_row_holds_its_conversation_until_dead_and_replay_publishes_it(
    tenant: Tenant, consumer_factory: Callable[..., Consumer], broker_channel: amqp.Channel
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    full = _full_queue(broker_channel, binding="parcel.full.*", max_length=0)
    (refused,) = outbox_write(
        tenant=tenant, keys=["conv-1"], per_key=1, routing_key="parcel.full.acme"
    )
    (other,) = outbox_write(tenant=tenant, keys=["conv-2"], per_key=1)
    publisher = outbox_publisher_create()
    try:
        result = relay_publish_batch(publisher=publisher)
        assert (result.claimed, result.published, result.failed) == (2, 1, 1)
        assert consumer.collect(unique=1, timeout=5)[0].properties["message_id"] == other.event_id
        refused.refresh_from_db()
        assert (refused.attempts, refused.last_error) == (1, "nacked by the broker")
        assert refused.next_attempt_at is not None
        # conv-1's next event waits behind its failing head (order), across batches.
        (behind,) = outbox_write(tenant=tenant, keys=["conv-1"], per_key=1)
        relay_drain(publisher=publisher)
        behind.refresh_from_db()
        assert behind.status == OutboxMessage.Status.PENDING

        deadline = time.monotonic() + 10
        while refused.status != OutboxMessage.Status.DEAD:
            assert time.monotonic() < deadline
            relay_drain(publisher=publisher)
            time.sleep(0.05)
            refused.refresh_from_db()
        assert refused.attempts == 3
        # A dead row no longer blocks its conversation.
        relay_drain(publisher=publisher)
        consumer.collect(unique=2, timeout=5)
        assert behind.event_id in consumer.ids()
        assert refused.event_id not in consumer.ids()

        broker_channel.queue_purge(full)
        broker_channel.queue_unbind(full, settings.EVENTS_EXCHANGE, "parcel.full.*")
        consumer.bind("parcel.full.*")
        out = StringIO()
        call_command("outbox", "replay", "--tenant", "acme", stdout=out)
        assert out.getvalue().strip() == "replayed 1 dead outbox rows"
        refused.refresh_from_db()
        assert (refused.status, refused.attempts) == (OutboxMessage.Status.PENDING, 0)
        assert relay_drain(publisher=publisher) == 1
    finally:
        publisher.close()
    consumer.collect(unique=3, timeout=5)
    consumer.settle()
    assert [m.properties["message_id"] for m in consumer.messages].count(refused.event_id) == 1
    refused.refresh_from_db()
    assert refused.status == OutboxMessage.Status.PUBLISHED


@override_settings(OUTBOX_RETRY_BASE_S=0.05, OUTBOX_RETRY_MAX_S=0.1)
def test_queue_overflow_nacks_charge_only_the_refused_messages(
    tenant: Tenant, broker_channel: amqp.Channel
) -> None:
    full = _full_queue(broker_channel, binding="message.outbound.acme", max_length=30)
    keys = [f"conv-{n}" for n in range(10)]
    rows = outbox_write(tenant=tenant, keys=keys, per_key=10, rows_per_transaction=100)
    publisher = outbox_publisher_create()
    try:
        result = relay_publish_batch(publisher=publisher, batch_size=100)
        assert (result.claimed, result.published, result.failed) == (100, 30, 70)
        stored = _drain_queue(broker_channel, full)
        accepted = {m.properties["message_id"] for m in stored}
        attempts = dict(OutboxMessage.objects.values_list("event_id", "attempts"))
        assert {event_id for event_id, spent in attempts.items() if spent == 0} == accepted
        assert {spent for event_id, spent in attempts.items() if event_id not in accepted} == {1}
        # Room again, 30 at a time: the refused rows go out, the stored ones never again.
        deadline = time.monotonic() + 20
        while OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)  # their back-off
            relay_publish_batch(publisher=publisher, batch_size=100)
            stored += _drain_queue(broker_channel, full)
    finally:
        publisher.close()
    ids = [m.properties["message_id"] for m in stored]
    assert sorted(ids) == sorted(row.event_id for row in rows)
    assert not OutboxMessage.objects.filter(event_id__in=accepted).exclude(attempts=0).exists()

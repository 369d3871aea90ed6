"""What a consumer receives, dead letters and replay, back-off isolation, connection care."""

import subprocess
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from kombu import Connection, Exchange, Queue

from tenants.models import Tenant
from tests.relay.conftest import REPO, Consumer, decoded, outbox_write
from webhooks.models import OutboxMessage
from webhooks.outbox.publisher import (
    EventPublisher,
    OutgoingEvent,
    outbox_publisher_create,
    publisher_create,
)
from webhooks.outbox.relay import relay_drain, relay_publish_batch

pytestmark = pytest.mark.django_db(transaction=True)


def test_consumer_receives_every_cloudevent_field_and_amqp_property(
    tenant: Tenant, consumer_factory: Callable[..., Consumer]
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.*"])
    (row,) = outbox_write(tenant=tenant, keys=["conv-1"], per_key=1)
    publisher = outbox_publisher_create()
    try:
        assert relay_drain(publisher=publisher) == 1
    finally:
        publisher.close()

    (message,) = consumer.collect(unique=1, timeout=5)
    assert message.delivery_info["exchange"] == "genesys.events"
    assert message.delivery_info["routing_key"] == "message.outbound.acme"
    assert message.properties["delivery_mode"] == 2
    assert message.properties["content_type"] == "application/cloudevents+json"
    assert message.properties["message_id"] == row.event_id
    assert message.properties["application_headers"] == {"tenant": "acme"}
    event = decoded(message)
    assert event == row.cloud_event
    assert event["specversion"] == "1.0"
    assert event["id"] == row.event_id
    assert event["source"] == "genesys-gateway/acme"
    assert event["type"] == "message.outbound"
    assert event["subject"] == "conv-1"
    assert event["tenant"] == "acme"
    assert event["time"]
    assert event["data"]["conversation_id"] == "conv-1"
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.PUBLISHED
    assert row.published_at is not None
    assert row.attempts == 0


@override_settings(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_BASE_S=0.05, OUTBOX_RETRY_MAX_S=0.1)
def test_returned_row_is_dead_lettered_after_its_budget_and_replay_publishes_it(
    tenant: Tenant, consumer_factory: Callable[..., Consumer]
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    # No queue is bound to parcel.lost.*: with `mandatory` the broker returns it.
    (unroutable,) = outbox_write(
        tenant=tenant, keys=["conv-1"], per_key=1, routing_key="parcel.lost.nowhere"
    )
    (behind,) = outbox_write(tenant=tenant, keys=["conv-1"], per_key=1)
    (other,) = outbox_write(tenant=tenant, keys=["conv-2"], per_key=1)
    publisher = outbox_publisher_create()
    try:
        result = relay_publish_batch(publisher=publisher)
        assert (result.claimed, result.published, result.failed) == (2, 1, 1)
        # Another conversation is not held up by conv-1's back-off ...
        assert consumer.collect(unique=1, timeout=5)[0].properties["message_id"] == other.event_id
        # ... but conv-1's next event waits behind its failing head (order).
        behind.refresh_from_db()
        assert behind.status == OutboxMessage.Status.PENDING
        unroutable.refresh_from_db()
        assert unroutable.attempts == 1
        assert unroutable.next_attempt_at is not None
        assert "NO_ROUTE" in unroutable.last_error

        deadline = time.monotonic() + 10
        while unroutable.status != OutboxMessage.Status.DEAD:
            assert time.monotonic() < deadline
            relay_drain(publisher=publisher)
            time.sleep(0.05)
            unroutable.refresh_from_db()
        assert unroutable.attempts == 3
        assert "NO_ROUTE" in unroutable.last_error
        # A dead row no longer blocks its conversation.
        relay_drain(publisher=publisher)
        consumer.collect(unique=2, timeout=5)
        assert behind.event_id in consumer.ids()
        assert unroutable.event_id not in consumer.ids()

        consumer.bind("parcel.lost.*")
        out = StringIO()
        call_command("outbox", "replay", "--tenant", "acme", stdout=out)
        assert out.getvalue().strip() == "replayed 1 dead outbox rows"
        unroutable.refresh_from_db()
        assert (unroutable.status, unroutable.attempts) == (OutboxMessage.Status.PENDING, 0)
        assert relay_drain(publisher=publisher) == 1
    finally:
        publisher.close()
    consumer.collect(unique=3, timeout=5)
    consumer.settle()
    assert [m.properties["message_id"] for m in consumer.messages].count(unroutable.event_id) == 1
    unroutable.refresh_from_db()
    assert unroutable.status == OutboxMessage.Status.PUBLISHED


def test_idle_connection_keeps_heartbeats_and_recovers_when_the_broker_drops_it(
    consumer_factory: Callable[..., Consumer],
) -> None:
    consumer_factory(binding_keys=["probe.#"])  # makes probe.* routable (mandatory)
    # 2 s, not 1 s: on two loaded cores a 1 s interval left too little slack to service it.
    publisher = EventPublisher(url=_events_url(), exchange="genesys.events", heartbeat=2)

    def publish(n: int) -> list[int]:
        event = OutgoingEvent(
            key=n, event_id=f"probe-{n}", tenant="acme", routing_key="probe.acme", body=b"{}"
        )
        return publisher.publish_batch([event]).confirmed

    try:
        assert publish(1) == [1]
        # Idle for 3 heartbeat intervals: the broker would drop a connection nobody serviced.
        deadline = time.monotonic() + 6.5
        while time.monotonic() < deadline:
            publisher.service(timeout=0.5)
        assert publish(2) == [2]
        assert publisher.connects == 1
        # The broker closes every client connection (as on a node restart).
        subprocess.run(
            [str(REPO / "scripts" / "services.sh"), "rabbitmqctl", "close_all_connections", "test"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        time.sleep(0.2)
        consumer_factory(binding_keys=["probe.#"])  # the old queue went with its connection
        assert publish(3) == [3]
        assert publisher.connects == 2
    finally:
        publisher.close()


def _events_url() -> str:
    from django.conf import settings

    return str(settings.EVENTS_BROKER_URL)


def test_make_run_filesystem_transport_gets_the_same_message_without_confirms(
    tmp_path: Path,
) -> None:
    folders = {name: tmp_path / name for name in ("data", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = {
        "data_folder_in": str(folders["data"]),
        "data_folder_out": str(folders["data"]),
        "control_folder": str(folders["control"]),
    }
    exchange = Exchange("genesys.events", "topic", durable=True)
    with Connection("filesystem://", transport_options=options) as conn:
        queue = Queue("whatsapp", exchange, routing_key="message.outbound.*")(conn.default_channel)
        queue.declare()
        publisher = publisher_create(
            url="filesystem://", exchange="genesys.events", transport_options=options
        )
        event = OutgoingEvent(
            key=7, event_id="ev-7", tenant="acme", routing_key="message.outbound.acme",
            body=b'{"id": "ev-7"}',
        )  # fmt: skip
        assert publisher.publish_batch([event]).confirmed == [7]
        publisher.close()
        message = queue.get(no_ack=True)
    assert message is not None
    assert message.body == b'{"id": "ev-7"}'
    assert message.content_type == "application/cloudevents+json"
    assert message.properties["message_id"] == "ev-7"
    assert message.headers == {"tenant": "acme"}

"""What a consumer receives, dead letters and replay, back-off isolation, connection care."""

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from tenants.models import Tenant
from tests.relay.conftest import REPO, Consumer, decoded, outbox_write
from webhooks.models import OutboxMessage
from webhooks.outbox.publisher import (
    WRITE_CHUNK,
    EventPublisher,
    OutgoingEvent,
    outbox_publisher_create,
    publisher_create,
)
from webhooks.outbox.relay import relay_drain

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


def test_batch_written_in_pieces_arrives_whole_and_in_order_with_a_body_over_a_frame(
    consumer_factory: Callable[..., Consumer],
) -> None:
    consumer = consumer_factory(binding_keys=["probe.#"])
    publisher = EventPublisher(url=_events_url(), exchange="genesys.events")
    # 300 events of ~2 KiB pass the 256 KiB write piece twice; one body is larger than a
    # piece and than RabbitMQ's frame_max (128 KiB), so it spans several frames.
    bodies = [f'{{"seq": {n}, "pad": "{chr(97 + n % 26) * 2000}"}}'.encode() for n in range(300)]
    bodies[150] = b'{"big": "' + b"z" * (WRITE_CHUNK + 9000) + b'"}'
    events = [
        OutgoingEvent(
            key=n, event_id=f"piece-{n}", tenant="acme", routing_key="probe.acme", body=body
        )
        for n, body in enumerate(bodies)
    ]
    try:
        first = publisher.publish_batch(events)
        second = publisher.publish_batch(events[:2])  # the tags go on counting after a batch
    finally:
        publisher.close()
    assert (first.confirmed, first.rejected, first.error) == (list(range(300)), {}, None)
    assert (second.confirmed, second.rejected, second.error) == ([0, 1], {}, None)
    messages = consumer.collect(unique=300, timeout=10)
    consumer.settle()
    assert [m.body for m in consumer.messages] == [*bodies, *bodies[:2]]
    assert [m.properties["message_id"] for m in messages[:300]] == [e.event_id for e in events]


def test_work_while_waiting_runs_after_the_write_and_a_failure_drops_the_connection(
    consumer_factory: Callable[..., Consumer],
) -> None:
    consumer = consumer_factory(binding_keys=["probe.#"])
    publisher = EventPublisher(url=_events_url(), exchange="genesys.events")

    def event(n: int) -> OutgoingEvent:
        return OutgoingEvent(
            key=n, event_id=f"wait-{n}", tenant="acme", routing_key="probe.acme", body=b"{}"
        )

    seen_during: list[int] = []

    def fail() -> None:
        raise RuntimeError("database gone")

    try:
        outcome = publisher.publish_batch(
            [event(1)], while_waiting=lambda: seen_during.append(publisher.connects)
        )
        assert (outcome.confirmed, seen_during) == ([1], [1])
        with pytest.raises(RuntimeError, match="database gone"):
            publisher.publish_batch([event(2)], while_waiting=fail)
        # Its confirm would arrive for a batch nobody waits for: the connection is dropped.
        assert not publisher.connected
        assert publisher.publish_batch([event(3)]).confirmed == [3]
        assert publisher.connects == 2
    finally:
        publisher.close()
    consumer.collect(unique=2, timeout=5)
    consumer.settle(quiet=0.5)
    # wait-2 was written before the work failed, so it may well have arrived: its row
    # stays pending (the caller's transaction rolls back) and goes again, at least once.
    assert {"wait-1", "wait-3"} <= consumer.ids()


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

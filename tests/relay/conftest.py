"""Fixtures for the relay tests: real PostgreSQL and RabbitMQ from scripts/services.sh.

Rows are written the way the webhook side writes them (one transaction, relay_wake on
commit); consumers are real AMQP queues bound to the events exchange; relay workers are
`manage.py relay` subprocesses with their own database connections.
"""

import contextlib
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import amqp
import amqp.exceptions
import pytest
from django.conf import settings
from django.db import transaction
from kombu.utils.url import parse_url

from tenants.models import Tenant
from tests.conftest import subprocess_env
from webhooks.models import OutboxMessage
from webhooks.outbox.exchange import events_exchange_declare
from webhooks.outbox.wakeup import relay_wake

REPO = Path(__file__).resolve().parents[2]


def broker_connect() -> amqp.Connection:
    parts = parse_url(settings.EVENTS_BROKER_URL)
    conn = amqp.Connection(
        host=f"{parts['hostname']}:{parts['port']}",
        userid=parts["userid"],
        password=parts["password"],
        virtual_host=parts.get("virtual_host") or "/",
        connect_timeout=5,
    )
    conn.connect()
    return conn


def cloud_event(*, tenant: str, event_type: str, subject: str, seq: int) -> dict[str, Any]:
    """A CloudEvents 1.0 document shaped as docs/events.md ("The envelope") describes."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"genesys-gateway/{tenant}",
        "type": event_type,
        "time": datetime.now(UTC).isoformat(),
        "subject": subject,
        "tenant": tenant,
        "datacontenttype": "application/json",
        "data": {"conversation_id": subject, "seq": seq, "text": f"message {seq}"},
    }


def outbox_write(
    *,
    tenant: Tenant,
    keys: list[str],
    per_key: int,
    rows_per_transaction: int = 50,
    event_type: str = "message.outbound",
    routing_key: str | None = None,
    wake: bool = True,
) -> list[OutboxMessage]:
    """Insert per_key rows for each key, keys interleaved, committing in small transactions
    and calling relay_wake on each commit, as the webhook side does."""
    documents = [
        cloud_event(tenant=tenant.slug, event_type=event_type, subject=key, seq=seq)
        for seq in range(per_key)
        for key in keys
    ]
    written: list[OutboxMessage] = []
    for start in range(0, len(documents), rows_per_transaction):
        with transaction.atomic():
            for document in documents[start : start + rows_per_transaction]:
                written.append(
                    OutboxMessage.objects.create(
                        tenant=tenant,
                        event_id=document["id"],
                        event_type=event_type,
                        ordering_key=document["subject"],
                        routing_key=routing_key or f"{event_type}.{tenant.slug}",
                        cloud_event=document,
                    )
                )
            if wake:
                transaction.on_commit(relay_wake)
    return written


class Consumer:
    """A queue bound to the events exchange, collecting what the relay publishes."""

    def __init__(self, *, binding_keys: list[str], durable: bool = False, name: str = "") -> None:
        self.name = name or f"relay-test-{uuid.uuid4().hex[:8]}"
        self.durable = durable
        self.messages: list[amqp.Message] = []
        # Kept as messages arrive: collect() asks after every frame, and rebuilding the set
        # each time made collecting 20,000 messages cost the test minutes of CPU.
        self._ids: set[str] = set()
        self._conn = broker_connect()
        channel = events_exchange_declare(connection=self._conn, exchange=settings.EVENTS_EXCHANGE)
        arguments = {"x-queue-type": "quorum"} if durable else {}
        channel.queue_declare(
            self.name,
            durable=durable,
            exclusive=not durable,
            auto_delete=not durable,
            arguments=arguments,
        )
        for key in binding_keys:
            channel.queue_bind(self.name, settings.EVENTS_EXCHANGE, key)
        channel.basic_qos(0, 500, False)
        self._channel = channel
        self._subscribe()

    def _subscribe(self) -> None:
        self._tag = self._channel.basic_consume(self.name, callback=self._on_message, no_ack=True)

    def _read(self, *, timeout: float) -> None:
        try:
            self._conn.drain_events(timeout=timeout)
        except amqp.exceptions.ConsumerCancelled:
            # A quorum queue just after a broker restart may cancel consumers while it
            # elects its leader; subscribe again.
            time.sleep(0.2)
            self._subscribe()

    def _on_message(self, message: amqp.Message) -> None:
        self.messages.append(message)
        self._ids.add(message.properties["message_id"])

    def bind(self, key: str) -> None:
        self._channel.queue_bind(self.name, settings.EVENTS_EXCHANGE, key)

    def ids(self) -> set[str]:
        return set(self._ids)

    def collect(self, *, unique: int, timeout: float) -> list[amqp.Message]:
        """Wait until `unique` distinct message ids arrived (or fail after timeout)."""
        deadline = time.monotonic() + timeout
        while len(self._ids) < unique:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"only {len(self._ids)} of {unique} messages arrived"
            with contextlib.suppress(TimeoutError):
                self._read(timeout=min(remaining, 0.5))
        return self.messages

    def settle(self, *, quiet: float = 0.3) -> None:
        """Read whatever else arrives until the queue is quiet for `quiet` seconds."""
        while True:
            try:
                self._read(timeout=quiet)
            except TimeoutError:
                return

    def close(self, *, delete: bool = False) -> None:
        if delete:
            self._channel.basic_cancel(self._tag)
            self._channel.queue_delete(self.name)
        self._conn.close()


@pytest.fixture
def consumer_factory() -> Iterator[Callable[..., Consumer]]:
    made: list[Consumer] = []

    def make(**kwargs: Any) -> Consumer:
        consumer = Consumer(**kwargs)
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        # It may be closed already, or the broker restarted under it.
        with contextlib.suppress(Exception):
            consumer.close()
        if consumer.durable:  # would otherwise outlive the test and catch later events
            conn = broker_connect()
            conn.channel().queue_delete(consumer.name)
            conn.close()


def services(*args: str) -> None:
    """scripts/services.sh for this suite's instance (GW_PORT_OFFSET from the env file)."""
    subprocess.run([str(REPO / "scripts" / "services.sh"), *args], check=True, timeout=180)


def relay_env(**overrides: str) -> dict[str, str]:
    """Environment for a relay subprocess: the test database, fast polling and reconnects."""
    fast = {
        "OUTBOX_RELAY_POLL_S": "0.1",
        "OUTBOX_RELAY_RECONNECT_MAX_S": "1",
        "OUTBOX_RELAY_CONNECT_TIMEOUT_S": "1",
    }
    return subprocess_env(**{**fast, **overrides})


@pytest.fixture
def relay_process(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `manage.py relay` subprocesses; stops (by PID) those still running at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"relay-{len(started)}.log", "wb")  # noqa: SIM115  # lives as long as the process
        process = subprocess.Popen(
            [sys.executable, "manage.py", "relay"],
            cwd=REPO,
            env=relay_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def decoded(message: amqp.Message) -> dict[str, Any]:
    body = message.body
    data: dict[str, Any] = json.loads(body.decode() if isinstance(body, bytes) else body)
    return data


def assert_in_order_per_key(messages: list[amqp.Message], *, keys: list[str], per_key: int) -> int:
    """Each key's events, first occurrences only, arrive as seq 0..per_key-1; duplicates
    repeat the same id with the same body. Returns the number of duplicates."""
    first: dict[str, dict[str, Any]] = {}
    sequences: dict[str, list[int]] = {key: [] for key in keys}
    duplicates = 0
    for message in messages:
        event = decoded(message)
        assert message.properties["message_id"] == event["id"]
        if event["id"] in first:
            assert first[event["id"]] == event
            duplicates += 1
            continue
        first[event["id"]] = event
        sequences[event["subject"]].append(event["data"]["seq"])
    for key in keys:
        assert sequences[key] == list(range(per_key)), f"conversation {key} out of order or gaps"
    return duplicates

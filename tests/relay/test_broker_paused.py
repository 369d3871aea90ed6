"""A broker that stops reading (its process paused with SIGSTOP) never holds up a webhook.

The webhook commits its event and wakes the relay without waiting on the broker; once
the broker is resumed (SIGCONT) the relay publishes every acknowledged event.
"""

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client

from tenants.models import Integration
from tests.conftest import genesys_example
from tests.relay.conftest import Consumer, decoded
from tests.webhooks.conftest import compact, post_open_messaging

pytestmark = pytest.mark.django_db(transaction=True)

# Genesys waits 10 s; the gateway promises far less, paused broker or not.
ANSWER_WITHIN_S = 1.0
WEBHOOKS = 20


@contextlib.contextmanager
def broker_paused() -> Iterator[None]:
    """SIGSTOP the RabbitMQ node of scripts/services.sh; SIGCONT it whatever happens."""
    state = Path(os.environ["GW_SERVICES_DIR"])
    pid = int((state / "rabbitmq" / "node.pid").read_text().split()[0])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _agent_message(n: int) -> bytes:
    payload = genesys_example("outbound-agent-text.json")
    payload["id"] = payload["channel"]["messageId"] = f"paused-broker-{n}"
    return compact(payload)


def test_webhooks_are_answered_at_once_while_the_broker_is_paused_and_published_after(
    integration: Integration,
    settings: object,
    consumer_factory: Callable[..., Consumer],
    relay_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    settings.OUTBOX_WAKE_CELERY = True  # type: ignore[attr-defined]  # the production wake-up
    consumer = consumer_factory(binding_keys=["#.acme"])
    relay_process()
    client = Client()
    assert post_open_messaging(client, _agent_message(0)).status_code == 200
    consumer.collect(unique=1, timeout=30)  # relay and wake-up connected

    answers: list[tuple[int, float]] = []

    def send_all() -> None:
        for n in range(1, WEBHOOKS + 1):
            started = time.monotonic()
            status = post_open_messaging(client, _agent_message(n)).status_code
            answers.append((status, time.monotonic() - started))

    with broker_paused():
        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        # A blocked wake-up would hold the sender here until the broker came back.
        sender.join(timeout=WEBHOOKS * ANSWER_WITHIN_S + 10)
        assert not sender.is_alive(), f"webhooks blocked on the paused broker: {answers}"
    assert [status for status, _ in answers] == [200] * WEBHOOKS
    slowest = max(seconds for _, seconds in answers)
    assert slowest < ANSWER_WITHIN_S, answers

    consumer.collect(unique=WEBHOOKS + 1, timeout=60)
    published = {decoded(m)["id"] for m in consumer.messages}
    assert published >= {f"paused-broker-{n}" for n in range(WEBHOOKS + 1)}

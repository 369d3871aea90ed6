"""Asynchronous delivery on real services: the gateway over HTTP (live server, PostgreSQL),
real Celery worker processes on RabbitMQ, and the emulator as Genesys with its fault
switches. What counts is what the emulator recorded: messages per wamid, their order,
requests over time.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.server import Emulator
from outbound.models import OutboundDelivery, QueuedState
from tests.conftest import subprocess_env
from tests.e2e.conftest import INTEGRATION_ID, EmulatorClient, Events, Gateway, poll

REPO = Path(__file__).resolve().parents[2]
INBOUND = f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/message"
ASYNC = {"Prefer": "respond-async"}

pytestmark = pytest.mark.django_db(transaction=True)

# Short timings so a test takes seconds: a Genesys call times out after 1.5 s, a claim
# is stale after 2 + 2 * 1.5 = 5 s, a worker's lease after 4 s, the sweep runs twice a second.
WORKER_ENV = {
    "GENESYS_TIMEOUT_S": "1.5",
    "GENESYS_RETRY_BUDGET_S": "2",
    "GENESYS_DELIVERY_LEASE_S": "4",
    "GENESYS_DELIVERY_SWEEP_S": "0.5",
    "GENESYS_DELIVERY_BACKOFF_MAX_S": "1",
    "GENESYS_BACKOFF_BASE_S": "0.2",
}


def worker_env(**overrides: str) -> dict[str, str]:
    return subprocess_env(**{"OUTBOX_WAKE_CELERY": "false", **WORKER_ENV, **overrides})


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `celery worker` processes (one with embedded beat when asked); stopped by PID."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, beat: bool = False, **env: str) -> subprocess.Popen[bytes]:
        n = len(started)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "genesys_gateway",
            "worker",
            "-P",
            "solo",
            "-n",
            f"async-test-{n}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ]
        if beat:
            command += ["-B", "-s", str(tmp_path / f"beat-{n}")]
        log = open(tmp_path / f"worker-{n}.log", "wb")  # noqa: SIM115  # lives as long as the process
        process = subprocess.Popen(
            command, cwd=REPO, env=worker_env(**env), stdout=log, stderr=subprocess.STDOUT
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def messages_by_wamid(emulator: Emulator) -> dict[str, list[str]]:
    """Each wamid's Genesys message ids, as the emulator stored them (one per real message)."""
    found: dict[str, list[str]] = {}
    with emulator.state.lock:
        for conversation in emulator.state.conversations.values():
            for message in conversation["messages"]:
                if message["direction"] == "inbound" and message["provider_message_id"]:
                    found.setdefault(message["provider_message_id"], []).append(message["id"])
    return found


def customer_order(emulator: Emulator, customer: str) -> list[str]:
    with emulator.state.lock:
        return [
            message["provider_message_id"]
            for conversation in emulator.state.conversations.values()
            if conversation["customer"]["id"] == customer
            for message in conversation["messages"]
            if message["direction"] == "inbound"
        ]


def send_async(gateway: Gateway, wamid: str, customer: str) -> None:
    body = {"message_id": wamid, "from": {"id": customer}, "text": f"text of {wamid}"}
    response = gateway.call("POST", "messages", json=body, headers=ASYNC)
    assert response.status_code == 202, response.text
    assert response.json()["state"] in ("queued", "sending", "delivered")


def all_finished(count: int) -> Callable[[], bool]:
    def check() -> bool:
        states = list(OutboundDelivery.objects.values_list("state", flat=True))
        return len(states) == count and all(
            state in (QueuedState.DELIVERED, QueuedState.FAILED) for state in states
        )

    return check


OUTAGE_S = 60


def test_delivery_rides_out_a_60_s_genesys_outage_and_a_killed_worker(
    gateway: Gateway,
    emulator: Emulator,
    emulator_client: EmulatorClient,
    workers: Callable[..., subprocess.Popen[bytes]],
    events: Events,
    relay: Any,
) -> None:
    # A 60 s outage of the inbound API, in three kinds: 500 for its first third, 503 for
    # the second, 429 (Retry-After 1 s) for the last. The emulator answers each call
    # with the first rule still running, so the three rules, added together, follow
    # one another.
    for kind, until_s in (("500", OUTAGE_S / 3), ("503", 2 * OUTAGE_S / 3), ("429", OUTAGE_S)):
        emulator_client.control(
            "faults",
            {
                "kind": kind,
                "duration_ms": int(until_s * 1000),
                "retry_after": 1,
                "path_prefix": INBOUND,
            },
        )
    outage_started = time.time()
    workers(beat=True)
    doomed = workers()
    customers = {"+15550001": [], "+15550002": []}  # type: dict[str, list[str]]

    def send_round(n: int) -> None:
        for customer, sent in customers.items():
            wamid = f"wamid.outage.{customer}.{n}"
            send_async(gateway, wamid, customer)
            sent.append(wamid)

    send_round(0)
    send_round(1)
    # Halfway through, one worker dies without a word and more messages arrive.
    time.sleep(max(0.0, outage_started + OUTAGE_S / 2 - time.time()))
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    send_round(2)
    send_round(3)
    assert not OutboundDelivery.objects.filter(state=QueuedState.DELIVERED).exists()
    poll(all_finished(8), timeout=OUTAGE_S + 60, what="every message delivered")

    assert set(OutboundDelivery.objects.values_list("state", flat=True)) == {"delivered"}
    stored = messages_by_wamid(emulator)
    for customer, sent in customers.items():
        assert customer_order(emulator, customer) == sent
        for wamid in sent:
            assert len(stored[wamid]) == 1
    # The outage really was met, in every kind, and lasted: nothing got through it.
    calls = emulator_client.requests(INBOUND)
    refused = [r for r in calls if r["status"] in (429, 500, 503)]
    assert {r["status"] for r in refused} == {429, 500, 503}
    first_success = min(_timestamp(r) for r in calls if r["status"] == 200)
    assert first_success - outage_started >= OUTAGE_S - 1
    # ... and the workers kept trying to its end (no one gave up early).
    assert max(_timestamp(r) for r in refused) >= outage_started + OUTAGE_S - 5
    state = gateway.call("GET", f"messages/{customers['+15550001'][0]}").json()
    assert state["state"] == "delivered"
    assert state["genesys_message_id"] == stored[customers["+15550001"][0]][0]
    # One delivery.succeeded per message, through the outbox and the relay to RabbitMQ,
    # in each customer's order.
    outcomes = [events.next(timeout=20)[1] for _ in range(8)]
    assert {event["type"] for event in outcomes} == {"delivery.succeeded"}
    for sent in customers.values():
        mine = [e["data"]["message_id"] for e in outcomes if e["data"]["message_id"] in sent]
        assert mine == sent
    assert all(
        e["data"]["genesys_message_id"] == stored[e["data"]["message_id"]][0] for e in outcomes
    )
    assert events.extra() == []


def _timestamp(request: dict[str, Any]) -> float:
    return datetime.fromisoformat(request["time"].replace("Z", "+00:00")).timestamp()


def test_a_worker_killed_mid_call_leads_to_exactly_one_genesys_message(
    gateway: Gateway,
    emulator: Emulator,
    emulator_client: EmulatorClient,
    workers: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # Genesys takes 3 s over the first message: the worker is killed while it waits.
    emulator_client.control(
        "faults", {"kind": "slow", "count": 1, "delay_ms": 3000, "path_prefix": INBOUND}
    )
    doomed = workers()
    send_async(gateway, "wamid.kill.1", "+15550009")
    send_async(gateway, "wamid.kill.2", "+15550009")  # must wait for the first
    poll(
        lambda: OutboundDelivery.objects.filter(state=QueuedState.SENDING).exists(),
        timeout=20,
        what="the worker to start sending",
    )
    time.sleep(0.5)  # the request is on its way to Genesys
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)

    workers(beat=True)  # a fresh worker, with the sweep that finds the expired lease
    poll(all_finished(2), timeout=60, what="both messages delivered after the kill")

    stored = messages_by_wamid(emulator)
    assert len(stored["wamid.kill.1"]) == 1
    assert len(stored["wamid.kill.2"]) == 1
    assert customer_order(emulator, "+15550009") == ["wamid.kill.1", "wamid.kill.2"]
    sends = [
        r["body"]["channel"]["messageId"]
        for r in emulator_client.requests(INBOUND)
        if isinstance(r["body"], dict)
    ]
    # The killed worker's request reached Genesys and was sent again after the lease:
    # the same channel.messageId, so Genesys stored one message.
    assert sends.count("wamid.kill.1") == 2
    first = OutboundDelivery.objects.get(key="wamid.kill.1")
    assert first.attempts >= 2
    assert first.genesys_message_id == stored["wamid.kill.1"][0]


def test_a_permanent_400_fails_the_delivery_without_a_retry(
    gateway: Gateway,
    emulator_client: EmulatorClient,
    workers: Callable[..., subprocess.Popen[bytes]],
    events: Events,
    relay: Any,
) -> None:
    emulator_client.control("faults", {"kind": "400", "count": 1, "path_prefix": INBOUND})
    workers(beat=True)
    send_async(gateway, "wamid.bad", "+15550010")
    poll(all_finished(1), timeout=30, what="the delivery to fail")
    state = gateway.call("GET", "messages/wamid.bad").json()
    assert state["state"] == "failed"
    assert state["attempts"] == 1
    assert state["error"]["status"] == 400
    assert len(emulator_client.requests(INBOUND)) == 1
    message, event = events.next(timeout=20)
    assert event["type"] == "delivery.failed"
    assert message.delivery_info["routing_key"] == f"delivery.failed.{gateway.slug}"
    assert event["data"]["message_id"] == "wamid.bad"
    assert event["data"]["status"] == 400
    assert event["data"]["detail"]
    assert events.extra() == []


def test_two_workers_together_stay_within_the_tenants_rate_limit(
    gateway: Gateway,
    emulator_client: EmulatorClient,
    workers: Callable[..., subprocess.Popen[bytes]],
    settings: Any,
) -> None:
    # 60 a minute with no headroom and a burst of 2: one request a second after the burst.
    limits = {
        "GENESYS_RATE_LIMIT_PER_MINUTE": "60",
        "GENESYS_RATE_LIMIT_HEADROOM_PERCENT": "0",
        "GENESYS_RATE_LIMIT_BURST": "2",
    }
    workers(beat=True, **limits)
    workers(**limits)
    count = 6
    for n in range(count):
        send_async(gateway, f"wamid.rate.{n}", f"+1555002{n}")  # all different customers
    poll(all_finished(count), timeout=60, what="every message delivered")

    times = sorted(_timestamp(r) for r in emulator_client.requests(INBOUND))
    assert len(times) == count
    # The bucket allows at most 2 + t requests in any t seconds; 0.15 s for clock jitter.
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            window = times[j] - start
            assert j - i + 1 <= 2 + window + 0.15, f"requests {i}..{j} within {window:.2f} s"

"""The relay under load and faults: several workers, a broker outage, a killed worker.

Relay workers here are real `manage.py relay` processes with their own database
connections; the broker is the real RabbitMQ, stopped and started by scripts/services.sh.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db.models import Max

from tenants.models import Tenant
from tests.relay.conftest import (
    REPO,
    Consumer,
    assert_in_order_per_key,
    decoded,
    outbox_write,
    relay_env,
    services,
    wait_for,
)
from webhooks.models import OutboxMessage
from webhooks.outbox.wakeup import relay_wake, relay_wake_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def all_published(count: int) -> Callable[[], bool]:
    return lambda: (
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PUBLISHED).count() == count
    )


def test_four_workers_keep_each_conversations_order_and_lose_nothing(
    tenant: Tenant,
    consumer_factory: Callable[..., Consumer],
    relay_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    workers = [relay_process() for _ in range(4)]
    keys = [f"conv-{n:02}" for n in range(20)]

    outbox_write(tenant=tenant, keys=keys, per_key=100, rows_per_transaction=50)

    messages = consumer.collect(unique=2000, timeout=60)
    consumer.settle()
    # Nothing crashed, so SKIP LOCKED and the status guard must not publish anything twice.
    assert assert_in_order_per_key(consumer.messages, keys=keys, per_key=100) == 0
    assert len(messages) == 2000
    wait_for(all_published(2000), timeout=10, what="all rows marked published")
    assert all(worker.poll() is None for worker in workers)


def test_broker_outage_loses_nothing_and_needs_no_manual_step(
    tenant: Tenant,
    consumer_factory: Callable[..., Consumer],
    relay_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # Durable (quorum) queue: it must outlive the broker restart, like a real consumer's.
    consumer = consumer_factory(binding_keys=["#.acme"], durable=True)
    worker = relay_process()
    keys = [f"conv-{n:02}" for n in range(25)]
    outbox_write(tenant=tenant, keys=[f"warm-up-{n}" for n in range(5)], per_key=1)
    consumer.collect(unique=5, timeout=15)  # the relay is connected and publishing
    consumer.close()

    services("stop-rabbitmq")
    try:
        started = time.monotonic()
        outbox_write(tenant=tenant, keys=keys, per_key=20, rows_per_transaction=10)
        # relay_wake ran on each of the 50 commits, only raising the wake-up thread's
        # flag: the outage costs the writers nothing; the thread's sends fail (then its
        # breaker skips them) without anyone waiting.
        wakes = [relay_wake() for _ in range(3)]
        assert time.monotonic() - started < 10
        assert wakes == ["queued"] * 3
        assert relay_wake_send() in ("failed", "skipped")
        time.sleep(1)  # the relay keeps failing to reconnect meanwhile
        assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == 500
    finally:
        services("start-rabbitmq")

    # The warm-up's 5 were consumed already; the 500 written during the outage remain.
    consumer = consumer_factory(binding_keys=["#.acme"], durable=True, name=consumer.name)
    consumer.collect(unique=500, timeout=60)
    consumer.settle()
    assert_in_order_per_key(
        [m for m in consumer.messages if decoded(m)["subject"] in keys], keys=keys, per_key=20
    )
    wait_for(all_published(505), timeout=10, what="all rows marked published")
    # The same worker process lived through the outage, and the outage spent no budget.
    assert worker.poll() is None
    assert OutboxMessage.objects.aggregate(Max("attempts"))["attempts__max"] == 0
    consumer.close(delete=True)


def test_worker_killed_mid_batch_loses_nothing_after_restart(
    tenant: Tenant,
    consumer_factory: Callable[..., Consumer],
    relay_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    keys = [f"conv-{n:02}" for n in range(40)]
    outbox_write(tenant=tenant, keys=keys, per_key=75, rows_per_transaction=500, wake=False)

    # Small batches keep the first relay busy for a while (a batch of 250 drains the 3,000
    # rows in well under a second). It is killed as soon as its first batch is committed,
    # watched in the database: waiting for the consumer to see its messages took long
    # enough, on a busy machine, for the relay to finish all 3,000 first.
    killed_batch = 10
    first = relay_process(OUTBOX_RELAY_BATCH_SIZE=str(killed_batch))
    published = OutboxMessage.objects.filter(status=OutboxMessage.Status.PUBLISHED)
    deadline = time.monotonic() + 30
    while not published.exists():
        assert time.monotonic() < deadline, "the first relay published nothing within 30 s"
        time.sleep(0.002)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    published_before_restart = published.count()
    assert 0 < published_before_restart < 3000

    relay_process()
    consumer.collect(unique=3000, timeout=60)
    consumer.settle()
    duplicates = assert_in_order_per_key(consumer.messages, keys=keys, per_key=75)
    # At most the killed batch can come twice, each with its first id.
    assert duplicates <= killed_batch
    wait_for(all_published(3000), timeout=10, what="all rows marked published")


def test_celery_worker_publishes_on_wake_and_beat_sweep_catches_rows_without_one(
    tenant: Tenant, consumer_factory: Callable[..., Consumer], tmp_path: Path
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    env = relay_env(OUTBOX_SWEEP_INTERVAL_S="1")
    celery = [sys.executable, "-m", "celery", "-A", "genesys_gateway"]
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [*celery, "worker", "--pool=solo", "--without-mingle", "--without-gossip", "-l", "WARNING",
         "-B", "-s", str(tmp_path / "beat-schedule")],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        woken = outbox_write(tenant=tenant, keys=["conv-1", "conv-2"], per_key=10)
        consumer.collect(unique=20, timeout=30)
        swept = outbox_write(tenant=tenant, keys=["conv-3"], per_key=5, wake=False)
        consumer.collect(unique=25, timeout=15)
        consumer.settle()
        assert {row.event_id for row in woken + swept} == consumer.ids()
        in_order = [m for m in consumer.messages if decoded(m)["subject"] != "conv-3"]
        assert_in_order_per_key(in_order, keys=["conv-1", "conv-2"], per_key=10)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()

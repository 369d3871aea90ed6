"""The parts around publishing: wake-ups, retention, metrics, admin, commands, stopping."""

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client import CollectorRegistry

from tenants.models import Tenant
from tests.relay.conftest import broker_connect, outbox_write, wait_for
from webhooks.models import OutboxMessage
from webhooks.outbox.metrics import OutboxCollector
from webhooks.outbox.services import outbox_purge
from webhooks.outbox.wakeup import _wake_breaker, relay_wake, relay_wake_send


class HangUpBroker:
    """A TCP server that accepts and immediately closes: counts connection attempts."""

    def __init__(self) -> None:
        self.accepted = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.accepted += 1
            client.close()

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def hang_up_broker() -> Iterator[HangUpBroker]:
    broker = HangUpBroker()
    yield broker
    broker.close()


def test_relay_wake_send_opens_its_breaker_after_a_failure_and_skips_without_connecting(
    hang_up_broker: HangUpBroker,
) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{hang_up_broker.port}//"
    with override_settings(CELERY_BROKER_URL=url, OUTBOX_WAKE_BREAKER_S=0.5):
        assert relay_wake_send() == "failed"
        assert hang_up_broker.accepted == 1  # one attempt, no retries
        assert relay_wake_send() == "skipped"
        assert relay_wake_send() == "skipped"
        assert hang_up_broker.accepted == 1  # the breaker made no connection at all
        time.sleep(0.6)
        assert relay_wake_send() == "failed"  # half-open: tries again once the window passed
        assert hang_up_broker.accepted == 2


def test_relay_wake_send_with_nobody_listening_fails_without_raising() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connection refused
    with override_settings(CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{port}//"):
        assert relay_wake_send() == "failed"
        assert relay_wake_send() == "skipped"


def test_relay_wake_send_is_off_where_only_the_polling_relay_runs(
    hang_up_broker: HangUpBroker,
) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{hang_up_broker.port}//"
    with override_settings(CELERY_BROKER_URL=url, OUTBOX_WAKE_CELERY=False):
        assert relay_wake_send() == "skipped"
    assert hang_up_broker.accepted == 0


@pytest.mark.django_db
def test_relay_wake_send_sends_a_task_when_the_broker_is_up() -> None:
    assert relay_wake_send() == "sent"


class SilentBroker:
    """A TCP server that accepts and then neither reads nor answers (a paused broker)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._clients: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._clients.append(client)

    def close(self) -> None:
        self._server.close()
        for client in self._clients:
            client.close()


def test_relay_wake_send_gives_up_on_a_broker_that_never_answers() -> None:
    broker = SilentBroker()
    url = f"amqp://guest:guest@127.0.0.1:{broker.port}//"
    try:
        with override_settings(CELERY_BROKER_URL=url, OUTBOX_WAKE_TIMEOUT_S=0.3):
            sender = threading.Thread(target=lambda: results.append(relay_wake_send()))
            results: list[str] = []
            sender.start()
            sender.join(timeout=10)  # without its socket timeouts it would wait forever
            assert not sender.is_alive()
            assert results == ["failed"]
    finally:
        broker.close()


def _celery_queue_depth() -> int:
    conn = broker_connect()
    try:
        _, depth, _ = conn.channel().queue_declare("celery", passive=True)
        return int(depth)
    finally:
        conn.close()


def test_relay_wake_returns_at_once_even_when_the_broker_never_answers() -> None:
    broker = SilentBroker()
    url = f"amqp://guest:guest@127.0.0.1:{broker.port}//"
    try:
        with override_settings(CELERY_BROKER_URL=url, OUTBOX_WAKE_TIMEOUT_S=2.0):
            # Each call only raises the wake-up thread's flag; the thread is the one
            # that waits on the silent broker.
            assert [relay_wake() for _ in range(50)] == ["queued"] * 50
    finally:
        broker.close()


@pytest.mark.django_db
def test_relay_wake_coalesces_a_burst_into_a_few_tasks_sent_by_its_thread() -> None:
    relay_wake_send()  # the queue exists and the connection is warm
    before = _celery_queue_depth()
    assert [relay_wake() for _ in range(200)] == ["queued"] * 200
    wait_for(lambda: _celery_queue_depth() > before, timeout=10, what="a wake-up task")
    time.sleep(0.5)  # let a coalesced second send (if any) land too
    assert 1 <= _celery_queue_depth() - before <= 10


@pytest.mark.django_db
def test_a_failed_wake_up_is_sent_again_after_the_breaker_without_another_commit() -> None:
    relay_wake_send()  # the queue exists and the connection is warm
    before = _celery_queue_depth()
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there: the wake-up thread's send fails
    down = f"amqp://guest:guest@127.0.0.1:{port}//"
    with override_settings(CELERY_BROKER_URL=down, OUTBOX_WAKE_BREAKER_S=1.0):
        assert relay_wake() == "queued"
        wait_for(lambda: down in _wake_breaker, timeout=10, what="the failed send")
    # The broker is reachable again (the real URL); nothing else calls relay_wake.
    wait_for(lambda: _celery_queue_depth() > before, timeout=10, what="the wake-up sent again")
    assert _celery_queue_depth() - before == 1


@pytest.mark.django_db
def test_purge_deletes_old_published_and_ignored_rows_only(tenant: Tenant) -> None:
    rows = outbox_write(tenant=tenant, keys=["conv-1"], per_key=6, wake=False)
    long_ago = timezone.now() - timedelta(hours=100)
    statuses = ["published", "published", "ignored", "pending", "dead", "published"]
    for row, status in zip(rows, statuses, strict=True):
        row.status = status
        row.published_at = long_ago if status == "published" else None
        row.save()
    OutboxMessage.objects.filter(id=rows[2].id).update(created_at=long_ago)
    OutboxMessage.objects.filter(id=rows[5].id).update(published_at=timezone.now())

    assert outbox_purge(batch_size=1) == 3
    remaining = set(OutboxMessage.objects.values_list("id", flat=True))
    assert remaining == {rows[3].id, rows[4].id, rows[5].id}


@pytest.mark.django_db
def test_outbox_collector_reports_depth_oldest_age_and_dead(tenant: Tenant) -> None:
    rows = outbox_write(tenant=tenant, keys=["conv-1", "conv-2"], per_key=2, wake=False)
    OutboxMessage.objects.filter(id=rows[0].id).update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    OutboxMessage.objects.filter(id=rows[3].id).update(status="dead")
    registry = CollectorRegistry()
    registry.register(OutboxCollector())
    assert registry.get_sample_value("gateway_outbox_pending") == 3
    assert registry.get_sample_value("gateway_outbox_dead") == 1
    age = registry.get_sample_value("gateway_outbox_oldest_pending_age_seconds")
    assert age is not None
    assert 89 < age < 120


@pytest.mark.django_db
def test_metrics_endpoint_serves_the_outbox_gauges(client: Client) -> None:
    body = client.get("/metrics").content.decode()
    assert "gateway_outbox_pending 0.0" in body
    assert "gateway_outbox_publish_latency_seconds_bucket" in body


@pytest.mark.django_db
def test_admin_lists_rows_with_last_error_and_replays_dead_ones(
    client: Client, tenant: Tenant
) -> None:
    dead, published = outbox_write(tenant=tenant, keys=["conv-1"], per_key=2, wake=False)
    OutboxMessage.objects.filter(id=dead.id).update(
        status="dead", attempts=8, last_error="returned by the broker: NO_ROUTE"
    )
    OutboxMessage.objects.filter(id=published.id).update(status="published")
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))

    page = client.get("/admin/webhooks/outboxmessage/?status__exact=dead").content.decode()
    assert "returned by the broker: NO_ROUTE" in page
    assert client.get(f"/admin/webhooks/outboxmessage/{dead.id}/change/").status_code == 200

    response = client.post(
        "/admin/webhooks/outboxmessage/",
        {"action": "replay", "_selected_action": [dead.id, published.id]},
        follow=True,
    )
    assert "Replayed 1 dead rows." in response.content.decode()
    dead.refresh_from_db()
    published.refresh_from_db()
    assert (dead.status, dead.attempts) == ("pending", 0)
    assert published.status == "published"


@pytest.mark.django_db
def test_replay_command_filters_by_tenant_and_since(
    tenant_factory: Callable[..., Tenant],
) -> None:
    acme, other = tenant_factory(slug="acme"), tenant_factory(slug="other")
    old, new = outbox_write(tenant=acme, keys=["conv-1"], per_key=2, wake=False)
    (foreign,) = outbox_write(tenant=other, keys=["conv-2"], per_key=1, wake=False)
    OutboxMessage.objects.update(status="dead", attempts=8)
    OutboxMessage.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    out = StringIO()
    call_command("outbox", "replay", "--tenant", "acme", "--since", since, stdout=out)
    assert out.getvalue().strip() == "replayed 1 dead outbox rows"
    statuses = dict(OutboxMessage.objects.values_list("id", "status"))
    assert statuses == {old.id: "dead", new.id: "pending", foreign.id: "dead"}

    with pytest.raises(CommandError, match="unknown tenant 'nope'"):
        call_command("outbox", "replay", "--tenant", "nope")
    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("outbox", "replay", "--since", "yesterday")


@pytest.mark.django_db(transaction=True)
def test_relay_command_stops_cleanly_on_sigterm(
    tenant: Tenant, relay_process: Callable[..., subprocess.Popen[bytes]]
) -> None:
    process = relay_process()
    outbox_write(tenant=tenant, keys=["conv-1"], per_key=1, routing_key="unroutable.nowhere")
    wait_for(
        lambda: OutboxMessage.objects.filter(status=OutboxMessage.Status.PUBLISHED).exists(),
        timeout=15,
        what="the relay to publish the row",
    )
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


def test_metrics_endpoint_still_answers_without_the_database(client: Client) -> None:
    # No django_db mark: every database access fails here, as during an outage.
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"gateway_outbox_metrics_up 0.0" in response.content

"""The claim: relays share keys, never a key, and keep each key's order under racing commits."""

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
import pytest
from django.db import connection, transaction

from tenants.models import Tenant
from tests.relay.conftest import Consumer, cloud_event, outbox_write
from webhooks.models import OutboxMessage
from webhooks.outbox.claim import ClaimedRow, outbox_claim
from webhooks.outbox.publisher import (
    BatchOutcome,
    OutgoingEvent,
    Publisher,
    outbox_publisher_create,
)
from webhooks.outbox.relay import BatchResult, relay_publish_batch

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")


@pytest.fixture
def session() -> Iterator[Callable[[], psycopg.Connection]]:
    """Separate PostgreSQL sessions, as two webhook requests in two processes have."""
    opened: list[psycopg.Connection] = []
    db = connection.settings_dict

    def open_session() -> psycopg.Connection:
        conn = psycopg.connect(
            host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"],
            password=db["PASSWORD"] or None,
        )  # fmt: skip
        opened.append(conn)
        return conn

    yield open_session
    for conn in opened:
        conn.close()


def _insert(conn: psycopg.Connection, *, tenant: Tenant, key: str, seq: int) -> int:
    """Insert one outbox row in `conn`'s open transaction, as outbox_enqueue does."""
    document = cloud_event(tenant=tenant.slug, event_type="message.outbound", subject=key, seq=seq)
    row = conn.execute(
        f"INSERT INTO {OutboxMessage._meta.db_table} (tenant_id, event_id, event_type,"
        " ordering_key, routing_key, cloud_event, status, attempts, last_error, created_at)"
        " VALUES (%s, %s, 'message.outbound', %s, %s, %s, 'pending', 0, '', %s) RETURNING id",
        [tenant.pk, document["id"], key, f"message.outbound.{tenant.slug}",
         json.dumps(document), datetime.now(UTC)],
    ).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])


class PausingPublisher:
    """The real publisher, which runs `before` once between the claim and the publish."""

    def __init__(self, publisher: Publisher, before: Callable[[], None]) -> None:
        self.publisher = publisher
        self.before = before
        self.connects = 0
        self.retry_in = 0.0

    def publish_batch(
        self,
        events: Sequence[OutgoingEvent],
        *,
        while_waiting: Callable[[], None] | None = None,
    ) -> BatchOutcome:
        self.before()
        return self.publisher.publish_batch(events, while_waiting=while_waiting)

    def service(self, *, timeout: float) -> None:
        self.publisher.service(timeout=timeout)

    def close(self, *, graceful: bool = False) -> None:
        self.publisher.close(graceful=graceful)


def _in_other_thread(work: Callable[[], T]) -> T:
    """Run `work` on its own database connection, as a second relay process would."""
    results: list[T] = []

    def run() -> None:
        try:
            results.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert results, "the second relay did not finish"
    return results[0]


def test_row_committed_after_a_newer_one_of_its_key_waits_for_the_key_and_goes_after_it(
    tenant: Tenant,
    consumer_factory: Callable[..., Consumer],
    session: Callable[[], psycopg.Connection],
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    key = f"conv-{uuid.uuid4().hex[:6]}"
    late, early = session(), session()
    older_id = _insert(late, tenant=tenant, key=key, seq=0)  # not committed yet
    newer_id = _insert(early, tenant=tenant, key=key, seq=1)
    early.commit()
    assert older_id < newer_id

    second_relay = outbox_publisher_create()
    seen_by_second: list[BatchResult] = []

    def while_first_relay_holds_the_newer_row() -> None:
        late.commit()  # the older row becomes visible while the newer one is in flight
        seen_by_second.append(_in_other_thread(lambda: relay_publish_batch(publisher=second_relay)))

    first_relay = PausingPublisher(outbox_publisher_create(), while_first_relay_holds_the_newer_row)
    try:
        first = relay_publish_batch(publisher=first_relay)
        assert (first.claimed, first.published) == (1, 1)
        # The key was held: the second relay took nothing, rather than the older row.
        assert [(r.claimed, r.published) for r in seen_by_second] == [(0, 0)]
        after = _in_other_thread(lambda: relay_publish_batch(publisher=second_relay))
        assert (after.claimed, after.published) == (1, 1)
    finally:
        first_relay.close()
        second_relay.close()

    messages = consumer.collect(unique=2, timeout=5)
    consumer.settle()
    # One at a time, in the order the two rows were committed (and their webhooks answered).
    sequence = [json.loads(m.body)["data"]["seq"] for m in messages]
    assert sequence == [1, 0]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"published"}


def test_two_relays_hold_different_keys_and_several_rows_of_each(tenant: Tenant) -> None:
    keys = [f"conv-{n:02}" for n in range(20)]
    outbox_write(tenant=tenant, keys=keys, per_key=10, rows_per_transaction=200, wake=False)
    with transaction.atomic():
        mine = outbox_claim(limit=50)

        def claim_elsewhere() -> list[ClaimedRow]:
            with transaction.atomic():
                return outbox_claim(limit=50)

        theirs = _in_other_thread(claim_elsewhere)
    assert len(mine) == 50
    assert len(theirs) == 50
    assert not {r.ordering_key for r in theirs} & {r.ordering_key for r in mine}
    per_key: dict[str, list[int]] = {}
    for row in mine:
        per_key.setdefault(row.ordering_key, []).append(row.event.key)
    pending = OutboxMessage.objects.filter(ordering_key__in=per_key).order_by("id")
    for key, ids in per_key.items():
        # Several rows of a key, and exactly its oldest ones, in id order.
        assert len(ids) > 1
        oldest = list(pending.filter(ordering_key=key).values_list("id", flat=True)[: len(ids)])
        assert ids == oldest

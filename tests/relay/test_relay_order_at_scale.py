"""Order per conversation under a large mixed backlog drained by three relay processes."""

import random
from collections.abc import Callable
from subprocess import Popen

import pytest
from django.db import transaction

from tenants.models import Tenant
from tests.relay.conftest import Consumer, cloud_event, decoded, wait_for
from webhooks.models import OutboxMessage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROWS = 20_000
KEYS = 500


def _uneven_keys(rng: random.Random) -> list[str]:
    """ROWS keys in commit order: a few conversations with hundreds of rows, most with a
    handful (weights fall off like 1/rank), interleaved at random."""
    names = [f"conv-{n:03}" for n in range(KEYS)]
    weights = [1 / (rank + 1) for rank in range(KEYS)]
    picked = rng.choices(names, weights=weights, k=ROWS - KEYS)
    return names + picked  # every key at least once


def _write_backlog(
    *, tenant: Tenant, keys: list[str], per_transaction: int, sizes: dict[str, int]
) -> None:
    """Commit the rows in small transactions; each key's rows carry seq 0, 1, 2, ... in
    commit order, counted on in `sizes` (rows per key so far)."""
    for start in range(0, len(keys), per_transaction):
        rows = []
        for key in keys[start : start + per_transaction]:
            seq = sizes.get(key, 0)
            sizes[key] = seq + 1
            document = cloud_event(
                tenant=tenant.slug, event_type="message.outbound", subject=key, seq=seq
            )
            rows.append(
                OutboxMessage(
                    tenant=tenant,
                    event_id=document["id"],
                    event_type="message.outbound",
                    ordering_key=key,
                    routing_key=f"message.outbound.{tenant.slug}",
                    cloud_event=document,
                )
            )
        with transaction.atomic():
            OutboxMessage.objects.bulk_create(rows)


def test_three_relays_keep_every_conversation_in_order_through_a_large_mixed_backlog(
    tenant: Tenant,
    consumer_factory: Callable[..., Consumer],
    relay_process: Callable[..., Popen[bytes]],
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.acme"])
    rng = random.Random(13)
    keys = _uneven_keys(rng)
    # Half the backlog waits before the relays start; the rest is committed under them.
    half = len(keys) // 2
    sizes: dict[str, int] = {}
    _write_backlog(tenant=tenant, keys=keys[:half], per_transaction=1000, sizes=sizes)
    relays = [relay_process(OUTBOX_RELAY_BATCH_SIZE="100") for _ in range(3)]
    _write_backlog(tenant=tenant, keys=keys[half:], per_transaction=200, sizes=sizes)
    largest = max(sizes.values())
    assert largest > 200 and min(sizes.values()) < 10  # uneven, as the test means

    messages = consumer.collect(unique=ROWS, timeout=120)
    wait_for(
        lambda: not OutboxMessage.objects.filter(status="pending").exists(),
        timeout=30,
        what="every row published",
    )
    consumer.settle()
    assert all(relay.poll() is None for relay in relays)

    sequences: dict[str, list[int]] = {}
    seen: set[str] = set()
    for message in messages:
        event = decoded(message)
        assert event["id"] not in seen, "a row was published twice without a crash"
        seen.add(event["id"])
        sequences.setdefault(event["subject"], []).append(event["data"]["seq"])
    assert len(seen) == ROWS
    for key, count in sizes.items():
        assert sequences[key] == list(range(count)), f"{key} out of order or incomplete"
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"published"}

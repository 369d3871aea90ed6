"""Per-message confirms versus batched confirms, on the same broker in the same run.

The relay publishes a batch and waits for the broker's confirms once per batch; Celery's
`confirm_publish` (and a naive publisher) waits after every message. Both modes below use
the relay's own EventPublisher, differing only in batch size, and publish persistent
messages to a durable queue bound to a private exchange, as production would. Rounds
alternate between the modes so drift (disk, CPU) hits both alike; the median counts.

    python -m benchmarks.relay [--messages 4000] [--batch 100] [--rounds 3]

`python -m benchmarks relay` then drains a backlog with `manage.py relay` (relay_drain.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import amqp
from kombu.utils.url import parse_url

from benchmarks import relay_drain
from webhooks.outbox.exchange import events_exchange_declare
from webhooks.outbox.publisher import EventPublisher, OutgoingEvent

EXCHANGE = "genesys.events.benchmark"


def _declare_queue(url: str, queue_type: str) -> tuple[amqp.Connection, str]:
    parts = parse_url(url)
    conn = amqp.Connection(
        host=f"{parts['hostname']}:{parts['port'] or 5672}",
        userid=parts["userid"] or "guest",
        password=parts["password"] or "guest",
        virtual_host=parts.get("virtual_host") or "/",
    )
    conn.connect()
    channel = events_exchange_declare(connection=conn, exchange=EXCHANGE)
    name = f"benchmark-{queue_type}-{uuid.uuid4().hex[:6]}"
    channel.queue_declare(
        name, durable=True, auto_delete=False, arguments={"x-queue-type": queue_type}
    )
    channel.queue_bind(name, EXCHANGE, "#")
    return conn, name


def _throughput(publisher: EventPublisher, *, messages: int, batch: int) -> float:
    body = (
        b'{"specversion":"1.0","type":"message.outbound","source":"genesys-gateway/bench",'
        b'"data":{"text":"' + b"x" * 300 + b'"}}'
    )
    events = [
        OutgoingEvent(
            key=n,
            event_id=str(uuid.uuid4()),
            tenant="bench",
            routing_key="message.outbound.bench",
            body=body,
        )
        for n in range(messages)
    ]
    started = time.perf_counter()
    for start in range(0, messages, batch):
        outcome = publisher.publish_batch(events[start : start + batch])
        if outcome.error is not None or outcome.rejected:
            raise SystemExit(f"benchmark publish failed: {outcome.error or outcome.rejected}")
    return messages / (time.perf_counter() - started)


def run(*, url: str, messages: int, batch: int, rounds: int, queue_type: str) -> float:
    """Print both modes' median throughput for one queue type; return the ratio."""
    conn, queue = _declare_queue(url, queue_type)
    publisher = EventPublisher(url=url, exchange=EXCHANGE)
    per_message: list[float] = []
    batched: list[float] = []
    try:
        _throughput(publisher, messages=200, batch=batch)  # warm-up: connection, queue
        for _ in range(rounds):
            per_message.append(_throughput(publisher, messages=messages, batch=1))
            batched.append(_throughput(publisher, messages=messages, batch=batch))
            conn.channel().queue_purge(queue)
    finally:
        publisher.close()
        conn.channel().queue_delete(queue)
        conn.close()
    baseline, improved = statistics.median(per_message), statistics.median(batched)
    ratio = improved / baseline
    print(
        f"relay publish, {queue_type} queue, {messages} persistent messages x {rounds} rounds:\n"
        f"  confirm per message      {baseline:9.0f} msg/s  (baseline)\n"
        f"  confirm per {batch:<4} batch  {improved:9.0f} msg/s  = {ratio:.1f}x baseline"
    )
    return ratio


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Both queue types; the ratios by name, for the summary of `python -m benchmarks`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    url = os.environ.get("EVENTS_BROKER_URL") or os.environ.get(
        "CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//"
    )
    figures: dict[str, float] = {}
    for queue_type in ("classic", "quorum"):
        figures[f"batched / per-message confirms, {queue_type}"] = run(
            url=url,
            messages=args.messages,
            batch=args.batch,
            rounds=args.rounds,
            queue_type=queue_type,
        )
    figures.update(relay_drain.main([]))
    return figures


if __name__ == "__main__":
    main()

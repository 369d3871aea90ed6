"""Draining a backlog: `manage.py relay` against a bare batched-confirm publisher.

Fills a scratch database's outbox with `--rows` pending rows over ~2,000 keys and again
over 20, then times how long one relay, and two, take until no row is pending, publishing
to a durable queue bound `#`. The baseline publishes the same messages (same bodies,
routing keys and batch size) with plain py-amqp and one confirm wait per batch, to the
same queue, in the same run. Figures are ratios to it, and two relays to one.

    python -m benchmarks.relay_drain [--rows 100000] [--batch 250] [--relay-batch 250]
        [--keys 2000,20] [--verify-order]

--verify-order reads the queue after the two-relay drain and checks that every key's
events arrived complete and in order (`make bench` leaves it off: it adds a consume pass).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import amqp
import psycopg
from kombu.utils.url import parse_url

from benchmarks.harness import PYTHON, ROOT, gateway_env, manage, process_cpu_s, workdir
from webhooks.outbox.exchange import events_exchange_declare

EXCHANGE = "genesys.events.drainbench"
DATABASE = "relay_drain_bench"


def _broker(url: str) -> amqp.Connection:
    parts = parse_url(url)
    conn = amqp.Connection(
        host=f"{parts['hostname']}:{parts['port'] or 5672}",
        userid=parts["userid"] or "guest",
        password=parts["password"] or "guest",
        virtual_host=parts.get("virtual_host") or "/",
    )
    conn.connect()
    return conn


def _scratch_database(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return admin_url.rsplit("/", 1)[0] + f"/{DATABASE}"


def _fill(db_url: str, *, rows: int, keys: int) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        tenant_id = conn.execute("SELECT id FROM tenants_tenant WHERE slug = 'bench'").fetchone()
        assert tenant_id is not None
        conn.execute("TRUNCATE webhooks_outboxmessage")
        conn.execute(
            "INSERT INTO webhooks_outboxmessage (tenant_id, event_id, event_type, ordering_key,"
            " routing_key, cloud_event, status, attempts, last_error, created_at)"
            " SELECT %s, 'ev-' || n, 'message.outbound', 'conv-' || (n %% %s),"
            " 'message.outbound.bench', jsonb_build_object('id', 'ev-' || n, 'subject',"
            " 'conv-' || (n %% %s), 'data', jsonb_build_object('seq', n, 'text',"
            " repeat('x', 300))), 'ignored', 0, '', now() FROM generate_series(1, %s) AS n",
            [tenant_id[0], keys, keys, rows],
        )
        conn.execute("VACUUM ANALYZE webhooks_outboxmessage")


def _release(db_url: str) -> None:
    """Make the filled rows pending at once (they are stored as ignored until then)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE webhooks_outboxmessage SET status = 'pending'")


def _bare_publish(db_url: str, broker_url: str, *, batch: int) -> float:
    """The baseline: read the same rows, publish with py-amqp, one confirm wait per batch."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT event_id, routing_key, cloud_event::text FROM webhooks_outboxmessage"
            " ORDER BY id"
        ).fetchall()
    broker = _broker(broker_url)
    channel = broker.channel()
    channel.confirm_select()
    acked = [0]
    channel.events["basic_ack"].add(lambda tag, multiple: acked.__setitem__(0, tag))
    started = time.perf_counter()
    sent = 0
    for start in range(0, len(rows), batch):
        for event_id, routing_key, body in rows[start : start + batch]:
            message = amqp.Message(
                body.encode(), content_type="application/cloudevents+json", delivery_mode=2,
                message_id=event_id, application_headers={"tenant": "bench"},
            )  # fmt: skip
            channel.basic_publish(message, exchange=EXCHANGE, routing_key=routing_key)
            sent += 1
        while acked[0] < sent:
            broker.drain_events(timeout=10)
    seconds = time.perf_counter() - started
    broker.close()
    return len(rows) / seconds


def _verify_order(broker_url: str, queue: str, *, rows: int) -> int:
    """Consume the queue; fail unless each key's seq rises and every row came. Duplicates
    (same id again) are allowed and counted: a relay publishes at least once."""
    broker = _broker(broker_url)
    channel = broker.channel()
    channel.basic_qos(0, 1000, False)
    last: dict[str, int] = {}
    seen: set[str] = set()
    duplicates = 0

    def check(message: amqp.Message) -> None:
        nonlocal duplicates
        event = json.loads(message.body)
        if event["id"] in seen:
            duplicates += 1
            return
        seen.add(event["id"])
        key, seq = event["subject"], event["data"]["seq"]
        if seq <= last.get(key, 0):
            raise SystemExit(f"drain: {key} out of order: {seq} after {last[key]}")
        last[key] = seq

    channel.basic_consume(queue, callback=check, no_ack=True)
    try:
        while len(seen) < rows:
            broker.drain_events(timeout=10)
    except TimeoutError:
        raise SystemExit(f"drain: only {len(seen)} of {rows} events in the queue") from None
    finally:
        broker.close()
    return duplicates


def _relays_drain(
    db_url: str, env: dict[str, str], *, relays: int, rows: int, log: Path
) -> tuple[float, float]:
    """Drain with `relays` relays: (events/s, the relays' CPU seconds per 10,000 events)."""
    children = [
        subprocess.Popen(
            [PYTHON, "manage.py", "relay", "--poll-interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdout=(log / f"relay-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(relays)
    ]
    # Start the clock once every relay is up and polling: Django's start-up is not drain time.
    deadline = time.monotonic() + 60
    while not all("relay.started" in (log / f"relay-{n}.log").read_text() for n in range(relays)):
        if time.monotonic() > deadline:
            raise SystemExit(f"the relays did not start; see {log}")
        time.sleep(0.1)
    cpu_before = sum(process_cpu_s(child.pid) for child in children)
    _release(db_url)
    started = time.perf_counter()
    try:
        with psycopg.connect(db_url, autocommit=True) as conn:
            while True:
                row = conn.execute(
                    "SELECT count(*) FROM webhooks_outboxmessage WHERE status = 'pending'"
                ).fetchone()
                if row is not None and row[0] == 0:
                    break
                if any(child.poll() is not None for child in children):
                    raise SystemExit(f"a relay exited; see {log}")
                time.sleep(0.1)
        rate = rows / (time.perf_counter() - started)
        cpu = sum(process_cpu_s(child.pid) for child in children) - cpu_before
        return rate, cpu / rows * 10_000
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=250, help="the baseline's confirm batch")
    parser.add_argument(
        "--relay-batch", type=int, default=None, help="OUTBOX_RELAY_BATCH_SIZE (default: --batch)"
    )
    parser.add_argument(
        "--keys", default="2000,20", help="ordering keys per backlog, comma-separated"
    )
    parser.add_argument("--verify-order", action="store_true", help="check the two-relay drain")
    args = parser.parse_args(argv)
    broker_url = os.environ.get("EVENTS_BROKER_URL") or os.environ["CELERY_BROKER_URL"]
    db_url = _scratch_database(os.environ["DATABASE_URL"])
    figures: dict[str, float] = {}
    with workdir("relay-drain") as work:
        env = gateway_env(
            work,
            DATABASE_URL=db_url,
            EVENTS_EXCHANGE=EXCHANGE,
            OUTBOX_RELAY_BATCH_SIZE=str(args.relay_batch or args.batch),
        )
        manage(env, "migrate", "-v0")
        manage(env, "shell", "-c", (
            "from tenants.services import tenant_create; tenant_create(slug='bench',"
            " name='Bench', region='custom', client_id='bench', client_secret='bench-secret',"
            " api_base_url='https://api.genesys.test', login_base_url='https://login.genesys.test')"
        ))  # fmt: skip
        broker = _broker(broker_url)
        channel = events_exchange_declare(connection=broker, exchange=EXCHANGE)
        queue = f"drainbench-{uuid.uuid4().hex[:6]}"
        channel.queue_declare(queue, durable=True, auto_delete=False)
        channel.queue_bind(queue, EXCHANGE, "#")
        try:
            for keys in (int(k) for k in args.keys.split(",")):
                _fill(db_url, rows=args.rows, keys=keys)
                bare = _bare_publish(db_url, broker_url, batch=args.batch)
                channel.queue_purge(queue)
                one, one_cpu = _relays_drain(db_url, env, relays=1, rows=args.rows, log=work)
                channel.queue_purge(queue)
                _fill(db_url, rows=args.rows, keys=keys)
                two, two_cpu = _relays_drain(db_url, env, relays=2, rows=args.rows, log=work)
                if args.verify_order:
                    duplicates = _verify_order(broker_url, queue, rows=args.rows)
                    print(f"  order verified: {keys} keys in order, {duplicates} duplicates")
                channel.queue_purge(queue)
                print(
                    f"drain {args.rows} rows over {keys} keys, batch {args.batch}"
                    f" (relay {args.relay_batch or args.batch}):\n"
                    f"  bare py-amqp, batched confirms {bare:8.0f} msg/s  (baseline)\n"
                    f"  one relay                      {one:8.0f} msg/s  = {one / bare:.2f}x"
                    f"  ({one_cpu:.2f} CPU s per 10k events)\n"
                    f"  two relays                     {two:8.0f} msg/s  = {two / one:.2f}x one"
                    f"  ({two_cpu:.2f} CPU s per 10k events)",
                    flush=True,
                )
                figures[f"drain {keys} keys: 1 relay / bare publisher"] = one / bare
                figures[f"drain {keys} keys: 2 relays / 1 relay"] = two / one
        finally:
            channel.queue_delete(queue)
            broker.close()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    return figures


if __name__ == "__main__":
    main()

"""The relay run the production way, end to end: webhook latency to a consumer, worker RSS.

One stack for both: the webhooks pool under gunicorn (2 workers x 4 threads), a Celery
worker and beat (`celery -A genesys_gateway worker|beat`, OUTBOX_WAKE_CELERY on, so every
commit wakes the worker and the beat sweep backs it up), and a consumer on a queue bound
`#` to the events exchange. wrk sends signed agent-message webhooks at a steady rate
(wrk's delay(), calibrated on a warm-up), each body once.

latency: per event, the consumer's receive time minus the outbox row's `created_at`
(time.time() and PostgreSQL's clock on the same machine). The row is created in the
request before the commit and the 200 follows the commit, so the figure is an upper bound
of webhook-200-to-consumer latency, by the commit and the response write.

    python -m benchmarks.relay_e2e latency [--rate 200] [--seconds 60]

rss: VmRSS of the Celery worker processes (the main process and its prefork children),
sampled every second under the same steady load; the mean of the first minute against
the mean of the last.

    python -m benchmarks.relay_e2e rss [--rate 200] [--minutes 3]     # 10 for the goal
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import amqp
import amqp.exceptions
import psycopg

from benchmarks import harness
from benchmarks.ingest import PATH, _gateway_bodies, _setup
from benchmarks.relay_drain import _broker
from benchmarks.wrk import WrkResult, wrk_delay_calibrated, wrk_run
from webhooks.outbox.exchange import events_exchange_declare

WRK_THREADS = 2  # ingest._gateway_bodies writes one file per wrk thread
CONNECTIONS = 20  # paced: a 100 ms delay each, so latency moves the rate little
CELERY = str(Path(harness.PYTHON).parent / "celery")


class Receiver(threading.Thread):
    """A queue bound `#`; records time.time() at receipt per message id."""

    def __init__(self, broker_url: str, exchange: str) -> None:
        super().__init__(daemon=True)
        self.received: dict[str, float] = {}
        self.stop = threading.Event()
        self._conn = _broker(broker_url)
        channel = events_exchange_declare(connection=self._conn, exchange=exchange)
        queue = f"e2e-{uuid.uuid4().hex[:6]}"
        channel.queue_declare(queue, exclusive=True, auto_delete=True)
        channel.queue_bind(queue, exchange, "#")
        channel.basic_qos(0, 1000, False)
        channel.basic_consume(queue, callback=self._on_message, no_ack=True)

    def _on_message(self, message: amqp.Message) -> None:
        self.received.setdefault(message.properties["message_id"], time.time())

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                self._conn.drain_events(timeout=0.2)
        self._conn.close()


@contextmanager
def _celery(kind: str, env: dict[str, str], work: Path) -> Iterator[subprocess.Popen[bytes]]:
    command = [CELERY, "-A", "genesys_gateway", kind, "--loglevel", "warning"]
    if kind == "beat":
        command += ["--schedule", str(work / "beat-schedule")]
    with (work / f"celery-{kind}.log").open("wb") as log:
        child = subprocess.Popen(
            command, cwd=harness.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)  # a warm shutdown stops its own children
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _wait_for_worker(broker_url: str, worker: subprocess.Popen[bytes], work: Path) -> None:
    """Until the worker consumes its queue (a passive declare counts consumers)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited; see {work / 'celery-worker.log'}")
        conn = _broker(broker_url)
        try:
            _, _, consumers = conn.channel().queue_declare("celery", passive=True)
            if consumers:
                return
        except amqp.exceptions.NotFound:
            pass
        finally:
            with contextlib.suppress(Exception):
                conn.close()
        time.sleep(0.5)
    raise SystemExit("the Celery worker did not start consuming within 60 s")


@dataclass
class Stack:
    env: dict[str, str]
    url: str
    work: Path
    worker: subprocess.Popen[bytes]
    receiver: Receiver
    slug: str
    integration_id: str
    secret: str
    started_at: float = 0.0  # time.time() when the measured load began

    def load(
        self, name: str, *, rate: float, seconds: float, delay_ms: int, measured: bool = False
    ) -> WrkResult:
        """One wrk run with bodies of its own: a body sent twice would be a duplicate."""
        bodies = _gateway_bodies(
            self.work / f"bodies-{uuid.uuid4().hex[:6]}", integration_id=self.integration_id,
            secret=self.secret, prefix=uuid.uuid4().hex[:8],
            count=int(rate * 1.5 * seconds / WRK_THREADS) + 100,
        )  # fmt: skip
        if measured:  # the clock starts once the bodies are written
            self.started_at = time.time()
        result = wrk_run(
            name, base_url=self.url, path=PATH, seconds=seconds, threads=WRK_THREADS,
            connections=CONNECTIONS, bodies=bodies, delay_ms=delay_ms,
        )  # fmt: skip
        shutil.rmtree(bodies)
        if set(result.statuses) - {200} or result.errors:
            raise SystemExit(f"{name}: answers {result.statuses}, errors {result.errors}")
        return result

    def paced(self, *, rate: float, seconds: float) -> WrkResult:
        """Steady load at about `rate`/s. Each connection waits delay() after each answer,
        so rate = connections * 1000 / (delay + latency); two warm-ups measure the latency."""
        delay = wrk_delay_calibrated(
            lambda delay_ms: self.load("warm-up", rate=rate, seconds=5, delay_ms=delay_ms),
            rate=rate,
            connections=CONNECTIONS,
        )
        time.sleep(2)  # the warm-ups' events are consumed before the clock starts
        return self.load(
            f"steady {rate:.0f}/s", rate=rate, seconds=seconds, delay_ms=delay, measured=True
        )


@contextmanager
def stack() -> Iterator[Stack]:
    run_id = uuid.uuid4().hex[:8]
    slug, integration_id = f"e2e-{run_id}", str(uuid.uuid4())
    secret = f"e2e-webhook-secret-{run_id}"
    broker_url = os.environ.get("EVENTS_BROKER_URL") or os.environ["CELERY_BROKER_URL"]
    with harness.workdir("relay-e2e") as work:
        env = harness.gateway_env(work, GATEWAY_POOL="webhooks", OUTBOX_WAKE_CELERY="true")
        _setup(env, slug=slug, integration_id=integration_id, secret=secret)
        receiver = Receiver(broker_url, env.get("EVENTS_EXCHANGE", "genesys.events"))
        receiver.start()
        try:
            with (
                harness.gunicorn(env, work) as url,
                _celery("worker", env, work) as worker,
                _celery("beat", env, work),
            ):
                _wait_for_worker(broker_url, worker, work)
                yield Stack(env, url, work, worker, receiver, slug, integration_id, secret)
        finally:
            receiver.stop.set()
            receiver.join(timeout=5)


def _created_at(slug: str) -> dict[str, float]:
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT o.event_id, extract(epoch FROM o.created_at)::float8"
            " FROM webhooks_outboxmessage o JOIN tenants_tenant t ON t.id = o.tenant_id"
            " WHERE t.slug = %s",
            [slug],
        ).fetchall()
    return {event_id: created for event_id, created in rows}


def latency(*, rate: float, seconds: float) -> dict[str, float]:
    with stack() as s:
        result = s.paced(rate=rate, seconds=seconds)
        time.sleep(3)  # the tail of the run reaches the consumer
        created = _created_at(s.slug)
        received = dict(s.receiver.received)
    run_events = [e for e, at in created.items() if at >= s.started_at]
    measured = [(received[e] - created[e]) * 1000 for e in run_events if e in received]
    missing = len(run_events) - len(measured)
    if not measured:
        raise SystemExit("latency: no event reached the consumer")
    p = {q: harness.percentile(measured, q * 100) for q in (0.5, 0.9, 0.99)}
    print(
        f"webhook to consumer, relay by Celery worker + beat, {seconds:.0f} s paced at"
        f" {rate:.0f}/s (load average {os.getloadavg()[0]:.1f}):\n"
        f"  webhooks answered 200    {result.throughput:8.0f}/s  (webhook p50"
        f" {result.percentile_ms('p50'):.1f} ms, p99 {result.percentile_ms('p99'):.1f} ms)\n"
        f"  events consumed          {len(measured):8d}  ({missing} of the run not seen)\n"
        f"  created -> consumed      p50 {p[0.5]:.1f} ms, p90 {p[0.9]:.1f} ms,"
        f" p99 {p[0.99]:.1f} ms, max {max(measured):.1f} ms",
        flush=True,
    )
    return {
        "webhook->consumer p50 (ms)": p[0.5],
        "webhook->consumer p99 (ms)": p[0.99],
    }


def _rss_kb(pid: int) -> int:
    """VmRSS of a process and its children (the prefork pool), in kB."""
    total = 0
    pids = [pid]
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            pids.extend(int(c) for c in children)
    for each in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def rss(*, rate: float, minutes: float) -> dict[str, float]:
    seconds = minutes * 60
    with stack() as s:
        samples: list[tuple[float, int]] = []
        done = threading.Event()

        def sample() -> None:  # from the start of the measured load (after the warm-ups)
            while not done.wait(1.0):
                if s.started_at:
                    samples.append((time.time() - s.started_at, _rss_kb(s.worker.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = s.paced(rate=rate, seconds=seconds)
        done.set()
        sampler.join()
    first = statistics.mean(kb for t, kb in samples if t < 60)
    last = statistics.mean(kb for t, kb in samples if t >= samples[-1][0] - 60)
    print(
        f"Celery worker RSS (main + prefork children) over {minutes:.0f} min at"
        f" {result.throughput:.0f} webhooks/s (load average {os.getloadavg()[0]:.1f}):\n"
        f"  first minute {first / 1024:7.1f} MiB, last minute {last / 1024:7.1f} MiB"
        f" = {last / first:.3f}x, max {max(kb for _, kb in samples) / 1024:.1f} MiB",
        flush=True,
    )
    return {"worker RSS last / first minute": last / first}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("which", nargs="?", choices=("latency", "rss", "both"), default="both")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="latency run")
    parser.add_argument("--minutes", type=float, default=3.0, help="RSS run")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    if args.which in ("latency", "both"):
        figures.update(latency(rate=args.rate, seconds=args.seconds))
    if args.which in ("rss", "both"):
        figures.update(rss(rate=args.rate, minutes=args.minutes))
    return figures


if __name__ == "__main__":
    main()

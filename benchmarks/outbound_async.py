"""Asynchronous delivery (`Prefer: respond-async`) at a steady rate through a 429 storm.

The emulator, one gunicorn gateway (production settings) and two Celery workers (one with
the beat sweep) on the PostgreSQL of scripts/services.sh. One client offers customer
messages at `--rate` per second for `--seconds`, spread over 50 customers; a third of the
way in, the emulator answers every inbound message with 429 (Retry-After 1) for
`--outage` seconds. Measured:

- accepted/s and the 202's p50/p99 (what the WABA platform waits for);
- 202 -> delivered p50/p99: the row's finished_at - created_at, the commit that also
  writes the `delivery.succeeded` event;
- none lost (every message delivered), none doubled (one emulator message per wamid),
  and the most requests the emulator saw from the gateway in any 1 s and any 60 s.

The tenant's limit is set to 6000 a minute (80/s after the 20 % headroom, burst 20), so
50/s fits and the backlog the outage leaves drains at the limit.

    python -m benchmarks.outbound_async [--rate 50] [--seconds 30] [--outage 10]
"""

from __future__ import annotations

import argparse
import bisect
import concurrent.futures
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import psycopg
import requests

from benchmarks import harness
from benchmarks.outbound import emulated_tenant

CUSTOMERS = 50
PER_MINUTE = 6000
BURST = 20
HEADROOM_PERCENT = 20


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _offer(
    *, url: str, api_key: str, prefix: str, rate: float, seconds: float, outage: Callable[[], None]
) -> tuple[list[float], list[int], float]:
    """Open-loop load: message i is sent at start + i / rate whatever the answers take."""
    count = int(rate * seconds)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    local = threading.local()

    def send(i: int, at: float) -> None:
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = {
            "message_id": f"{prefix}-{i}",
            "from": {"id": f"+1555{i % CUSTOMERS:07d}"},
            "text": f"message {i}",
        }
        started = time.perf_counter()
        response = session.post(
            url,
            data=json.dumps(body),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "Prefer": "respond-async",
            },
            timeout=30,
        )
        with lock:
            latencies.append(time.perf_counter() - started)
            statuses.append(response.status_code)

    start = time.monotonic() + 0.5
    outage_at = start + seconds / 3
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(send, i, start + i / rate) for i in range(count)]
        threading.Timer(max(0.0, outage_at - time.monotonic()), outage).start()
        for future in futures:
            future.result()
    return latencies, statuses, time.monotonic() - start


def _deliveries(prefix: str) -> list[tuple[str, float | None]]:
    query = (
        "SELECT state, EXTRACT(EPOCH FROM finished_at - created_at) FROM "
        "outbound_outbounddelivery WHERE key LIKE %s"
    )
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        rows = conn.execute(query, [f"{prefix}-%"]).fetchall()
    return [(state, float(took) if took is not None else None) for state, took in rows]


def _wait_for_deliveries(prefix: str, count: int, timeout: float) -> list[tuple[str, float | None]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _deliveries(prefix)
        done = [row for row in rows if row[0] in ("delivered", "failed")]
        if len(done) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def _max_in_window(times: list[float], window: float) -> int:
    best = 0
    for i, start in enumerate(times):
        best = max(best, bisect.bisect_left(times, start + window) - i)
    return best


def _emulator_view(emulator_url: str, integration_id: str) -> tuple[list[float], dict[str, int]]:
    """Times of the gateway's inbound calls, and per wamid how many the emulator accepted."""
    path = f"/api/v2/conversations/messages/{integration_id}/inbound/open/message"
    entries = requests.get(
        f"{emulator_url}/emulator/requests", params={"path_prefix": path}, timeout=60
    ).json()["entities"]
    times = sorted(
        datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() for e in entries
    )
    accepted: dict[str, int] = {}
    for entry in entries:
        if entry["status"] == 200 and isinstance(entry["body"], dict):
            wamid = entry["body"]["channel"]["messageId"]
            accepted[wamid] = accepted.get(wamid, 0) + 1
    return times, accepted


def _stored_messages(emulator_url: str) -> int:
    conversations = requests.get(f"{emulator_url}/emulator/conversations", timeout=60).json()
    return sum(c["messages"] for c in conversations["entities"])


def run(*, rate: float, seconds: float, outage: float) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    slug = f"bench-async-{run_id}"
    integration_id = str(uuid.uuid4())
    inbound = f"/api/v2/conversations/messages/{integration_id}/inbound/open/message"
    with harness.workdir("outbound-async") as workdir:
        env = harness.gateway_env(
            workdir,
            GENESYS_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE),
            GENESYS_RATE_LIMIT_BURST=str(BURST),
            GENESYS_RATE_LIMIT_HEADROOM_PERCENT=str(HEADROOM_PERCENT),
            GENESYS_DELIVERY_SWEEP_S="0.5",
        )
        worker = [harness.PYTHON, "-m", "celery", "-A", "genesys_gateway", "worker", "-P", "solo"]
        with emulated_tenant(env, workdir, slug=slug, integration_id=integration_id) as (
            emulator_url,
            api_key,
        ):
            with (
                harness.gunicorn(env, workdir) as gateway_url,
                harness.background(
                    "worker 1",
                    [*worker, "-n", f"w1-{run_id}@%h", "-B", "-s", str(workdir / "beat")],
                    env=env,
                    log=workdir / "worker-1.log",
                ),
                harness.background(
                    "worker 2", [*worker, "-n", f"w2-{run_id}@%h"], env=env, log=workdir / "w2.log"
                ),
            ):

                def storm() -> None:
                    requests.post(
                        f"{emulator_url}/emulator/faults",
                        json={
                            "kind": "429",
                            "retry_after": 1,
                            "duration_ms": int(outage * 1000),
                            "path_prefix": inbound,
                        },
                        timeout=10,
                    )

                prefix = f"wamid.{run_id}"
                latencies, statuses, took = _offer(
                    url=f"{gateway_url}/api/v1/tenants/{slug}/messages",
                    api_key=api_key,
                    prefix=prefix,
                    rate=rate,
                    seconds=seconds,
                    outage=storm,
                )
                count = len(statuses)
                rows = _wait_for_deliveries(prefix, count, timeout=seconds + outage + 120)
            times, accepted = _emulator_view(emulator_url, integration_id)
            stored = _stored_messages(emulator_url)
    return _report(
        rate=rate,
        latencies=latencies,
        statuses=statuses,
        took=took,
        rows=rows,
        times=times,
        accepted=accepted,
        stored=stored,
    )


def _report(
    *,
    rate: float,
    latencies: list[float],
    statuses: list[int],
    took: float,
    rows: list[tuple[str, float | None]],
    times: list[float],
    accepted: dict[str, int],
    stored: int,
) -> dict[str, float]:
    count = len(statuses)
    delivered = [took_s for state, took_s in rows if state == "delivered" and took_s is not None]
    per_second_limit = BURST + PER_MINUTE * (100 - HEADROOM_PERCENT) / 100 / 60
    figures = {
        "accepted/s": sum(1 for s in statuses if s == 202) / took,
        "202 p50 (ms)": _percentile(latencies, 50) * 1000,
        "202 p99 (ms)": _percentile(latencies, 99) * 1000,
        "202 -> delivered p50 (ms)": _percentile(delivered, 50) * 1000,
        "202 -> delivered p99 (ms)": _percentile(delivered, 99) * 1000,
        "lost": float(count - len(delivered)),
        "doubled": float(sum(1 for n in accepted.values() if n > 1) + max(0, stored - count)),
        "max Genesys calls in 1 s": float(_max_in_window(times, 1.0)),
        "max Genesys calls in 60 s": float(_max_in_window(times, 60.0)),
    }
    print(
        f"asynchronous messages: {count} offered at {rate:.0f}/s, 429 storm in the middle; "
        f"{len(times)} Genesys calls, {stored} messages stored by the emulator"
    )
    print(f"  limit: {per_second_limit:.0f} calls in any 1 s (burst + rate), {PER_MINUTE} a minute")
    mean_ms = statistics.fmean(latencies) * 1000
    print(f"  202 answers: {statuses.count(202)}/{count}; mean {mean_ms:.1f} ms")
    for name, value in figures.items():
        print(f"  {name:<32}{value:10.1f}")
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="messages offered per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long they are offered")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds of 429 answers")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    return run(rate=args.rate, seconds=args.seconds, outage=args.outage)


if __name__ == "__main__":
    main()

"""The gateway's own CPU per synchronous POST messages, measured in-process.

The emulator runs as a subprocess (as in `benchmarks.outbound`); the gateway runs in this
process under Django's test client, with production settings and its request log written
to /dev/null, so `time.process_time()` counts the gateway's CPU alone: no gunicorn, no
client, no emulator, no PostgreSQL server. It is a figure for comparing changes to the
gateway's code; on shared cores read the low percentiles, which other processes disturb
least. Beside it, the CPU of this process's PostgreSQL backend per call over all batches
(/proc: the services run on the same machine). Also prints the SQL of one warm call and,
with --profile, the hottest frames of a cProfile run on the CPU clock (docs/benchmarks.md).

    python -m benchmarks.outbound_cpu [--batches 60] [--batch 25] [--profile 500]
                                      [--profile-file out.pstats]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import sys
import time
import uuid
from typing import Any

from benchmarks import harness
from benchmarks.outbound import TEXT, emulated_tenant

RATE_LIMIT_OUT_OF_REACH = {
    "GENESYS_RATE_LIMIT_PER_MINUTE": "100000000",
    "GENESYS_RATE_LIMIT_BURST": "100000",
}


def run(*, batches: int, batch: int, profile: int, profile_file: str) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    slug, integration_id = f"cpu-{run_id}", str(uuid.uuid4())
    with harness.workdir("outbound-cpu") as workdir:
        env = harness.gateway_env(workdir, ALLOWED_HOSTS="testserver", **RATE_LIMIT_OUT_OF_REACH)
        with emulated_tenant(env, workdir, slug=slug, integration_id=integration_id) as (
            _,
            api_key,
        ):
            os.environ.update(env)
            return _measure(
                slug=slug,
                api_key=api_key,
                batches=batches,
                batch=batch,
                profile=profile,
                profile_file=profile_file,
            )


def _measure(
    *, slug: str, api_key: str, batches: int, batch: int, profile: int, profile_file: str
) -> dict[str, float]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    devnull = open(os.devnull, "w")  # noqa: SIM115  # the request log, for the whole run
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    client, url = Client(), f"/api/v1/tenants/{slug}/messages"
    headers = {"Authorization": f"Bearer {api_key}"}
    numbers = iter(range(10**9))

    def send() -> None:
        body = {
            "message_id": f"cpu-{slug}-{next(numbers)}",
            "from": {"id": "+15550000001", "nickname": "Maria"},
            "text": TEXT,
        }
        response = client.post(url, json.dumps(body), "application/json", headers=headers)
        if response.status_code != 201:
            raise SystemExit(f"outbound-cpu: {response.status_code} {response.content[:300]!r}")

    for _ in range(50):  # warm: caches, connections, the conversation's routing map
        send()
    with CaptureQueriesContext(connection) as captured:
        send()
    statements = [" ".join(query["sql"].split()) for query in captured.captured_queries]
    print(f"SQL of one warm call ({len(statements)} statements):")
    for sql in statements:
        print(f"  {sql[:150]}")
    per_call = []
    backend_started = harness.database_backend_cpu_s()
    for _ in range(batches):
        started = time.process_time()
        for _ in range(batch):
            send()
        per_call.append((time.process_time() - started) / batch * 1000)
    backend_ms = (harness.database_backend_cpu_s() - backend_started) / (batches * batch) * 1000
    per_call.sort()
    figures = {
        "CPU ms per call, min": per_call[0],
        "CPU ms per call, p10": per_call[len(per_call) // 10],
        "CPU ms per call, median": per_call[len(per_call) // 2],
        "PostgreSQL backend CPU ms": backend_ms,
        "statements per call": float(len(statements)),
    }
    for name, value in figures.items():
        print(f"  {name:<28}{value:7.2f}")
    if profile:
        _profile(send, profile, profile_file)
    return figures


def _profile(send: Any, calls: int, path: str) -> None:
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(calls):
        send()
    profiler.disable()
    if path:
        profiler.dump_stats(path)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, default=60, help="batches timed")
    parser.add_argument("--batch", type=int, default=25, help="calls per batch")
    parser.add_argument("--profile", type=int, default=0, help="calls to profile (0: none)")
    parser.add_argument("--profile-file", default="", help="also save the profile (pstats)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    return run(
        batches=args.batches,
        batch=args.batch,
        profile=args.profile,
        profile_file=args.profile_file,
    )


if __name__ == "__main__":
    main()

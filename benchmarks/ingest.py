"""Webhook ingest against its floor: the gateway's signed webhook vs a bare Django view.

Two gunicorns of the same shape (gunicorn.conf.py: 2 workers x 4 threads, DEBUG off) on
the PostgreSQL of scripts/services.sh: the gateway, and benchmarks/bare (no middleware:
parse JSON, one INSERT in a transaction, 202). wrk loads each in turn, alternating rounds
so drift on the machine hits all alike, with bodies signed beforehand (lua/bodies.lua):

- bare insert:      the floor of the accept path
- gateway accepted: a correctly signed agent message, new id each time
- bare healthz:     the same JSON as /healthz, no middleware
- gateway healthz:  /healthz through the whole middleware stack

Then the latency goal: the gateway's accept path paced at half the bare view's peak rate.

    python -m benchmarks.ingest [--seconds 8] [--rounds 4] [--connections 16]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import harness
from benchmarks.wrk import WrkResult, bodies_write, wrk_delay_calibrated, wrk_run
from webhooks.signatures import signature_compute

PATH = "/webhooks/genesys/open-messaging"
WRK_THREADS = 2
MAX_RATE = 4_000  # bodies per second of run time written for each phase: more than served


def _template(integration_id: str) -> str:
    """An agent message as Genesys sends it (tests/fixtures/genesys/outbound-agent-text.json)
    with `@ID@` where the message id goes and `@TO@` for the customer, dated now: the
    gateway refuses events older than the outbox retention."""
    payload = {
        "id": "@ID@",
        "channel": {
            "id": integration_id,
            "platform": "Open",
            "type": "Private",
            "to": {"id": "@TO@", "idType": "Phone"},
            "from": {
                "nickname": "WhatsApp Bridge (benchmark)",
                "id": integration_id,
                "idType": "Opaque",
            },
            "time": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
            "messageId": "@ID@",
        },
        "type": "Text",
        "text": "Hello Maria, I'm Alex. Let me look up order #4821 for you.",
        "originatingEntity": "Human",
        "direction": "Outbound",
    }
    return json.dumps(payload, separators=(",", ":"))


def _setup(env: dict[str, str], *, slug: str, integration_id: str, secret: str) -> None:
    harness.manage(env, "migrate", "--no-input", "-v", "0")
    harness.manage(
        env,
        "tenant",
        "create",
        slug,
        "--name",
        "Benchmark",
        "--region",
        "custom",
        "--api-base-url",
        "http://127.0.0.1:9",
        "--login-base-url",
        "http://127.0.0.1:9",
        "--client-id",
        "benchmark",
        "--client-secret",
        "benchmark-client-secret-0123456789",
    )
    harness.manage(env, "tenant", "add-integration", slug, integration_id, "--secret", secret)


def _gateway_bodies(
    directory: Path, *, integration_id: str, secret: str, prefix: str, count: int
) -> Path:
    template = _template(integration_id)

    def body(thread: int, seq: int) -> tuple[str, str]:
        text = template.replace("@ID@", f"{prefix}-{thread}-{seq}").replace(
            "@TO@", f"+1555{thread:03d}{seq % 5000:04d}"
        )
        return signature_compute(secret=secret, body=text.encode()), text

    bodies_write(directory, threads=WRK_THREADS, per_thread=count, factory=body)
    return directory


def _bare_bodies(directory: Path, *, integration_id: str, prefix: str, count: int) -> Path:
    template = _template(integration_id)

    def body(thread: int, seq: int) -> tuple[str, str]:
        return "", template.replace("@ID@", f"{prefix}-{thread}-{seq}").replace("@TO@", "+1555")

    bodies_write(directory, threads=WRK_THREADS, per_thread=count, factory=body)
    return directory


def _expect(result: WrkResult, status: int) -> WrkResult:
    other = {code: n for code, n in result.statuses.items() if code != status}
    if other or result.errors:
        raise SystemExit(
            f"ingest: {result.name}: unexpected answers {other}, errors {result.errors}"
        )
    return result


def run(*, seconds: float, rounds: int, connections: int) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    slug = f"ingest-{run_id}"
    integration_id = str(uuid.uuid4())
    secret = f"ingest-webhook-secret-{run_id}"
    per_thread = int(MAX_RATE * seconds / WRK_THREADS)
    with harness.workdir("ingest") as workdir:
        # The production webhooks service (docs/operations.md): 2 workers x 4 threads.
        env = harness.gateway_env(workdir, GATEWAY_POOL="webhooks")
        _setup(env, slug=slug, integration_id=integration_id, secret=secret)
        with (
            harness.gunicorn(env, workdir) as gateway_url,
            harness.bare_gunicorn(env, workdir) as bare_url,
        ):

            def phase(
                name: str,
                url: str,
                path: str,
                status: int,
                bodies: Path | None = None,
                delay_ms: int = 0,
            ) -> WrkResult:
                return _expect(
                    wrk_run(
                        name,
                        base_url=url,
                        path=path,
                        seconds=seconds,
                        threads=WRK_THREADS,
                        connections=connections,
                        bodies=bodies,
                        delay_ms=delay_ms,
                    ),
                    status,
                )

            def bodies(kind: str, r: int) -> Path:
                directory = workdir / f"{kind}-{r}"
                if kind == "gateway":
                    return _gateway_bodies(
                        directory,
                        integration_id=integration_id,
                        secret=secret,
                        prefix=f"{run_id}-r{r}",
                        count=per_thread,
                    )
                return _bare_bodies(
                    directory,
                    integration_id=integration_id,
                    prefix=f"{run_id}-bare-r{r}",
                    count=per_thread,
                )

            # Warm both: connections, imports, caches.
            phase("warm bare", bare_url, "/insert", 202, bodies("bare", 99))
            phase("warm gateway", gateway_url, PATH, 200, bodies("gateway", 99))
            series: dict[str, list[WrkResult]] = {}
            plan: list[tuple[str, Callable[[int], WrkResult]]] = [
                (
                    "bare insert",
                    lambda r: phase("bare insert", bare_url, "/insert", 202, bodies("bare", r)),
                ),
                (
                    "gateway accepted",
                    lambda r: phase(
                        "gateway accepted", gateway_url, PATH, 200, bodies("gateway", r)
                    ),
                ),
                ("bare healthz", lambda r: phase("bare healthz", bare_url, "/healthz", 200)),
                (
                    "gateway healthz",
                    lambda r: phase("gateway healthz", gateway_url, "/healthz", 200),
                ),
            ]
            for r in range(rounds):
                for name, measure in plan:
                    series.setdefault(name, []).append(measure(r))
            peak = statistics.median(x.throughput for x in series["bare insert"])
            rate = peak / 2
            warmups = itertools.count(200)  # each warm-up its own bodies: none sent twice
            delay_ms = wrk_delay_calibrated(
                lambda delay: phase(
                    "calibrate", gateway_url, PATH, 200, bodies("gateway", next(warmups)),
                    delay_ms=delay,
                ),
                rate=rate,
                connections=connections,
            )  # fmt: skip
            paced = phase(
                "gateway accepted, half rate",
                gateway_url,
                PATH,
                200,
                bodies("gateway", 100),
                delay_ms=delay_ms,
            )
    return _report(
        series,
        paced=paced,
        target_rate=rate,
        seconds=seconds,
        rounds=rounds,
        connections=connections,
    )


def _median(results: list[WrkResult], value: Callable[[WrkResult], float]) -> float:
    return statistics.median(value(x) for x in results)


def _report(
    series: dict[str, list[WrkResult]],
    *,
    paced: WrkResult,
    target_rate: float,
    seconds: float,
    rounds: int,
    connections: int,
) -> dict[str, float]:
    print(
        f"webhook ingest vs a bare Django view, gunicorn 2 workers x 4 threads each, "
        f"PostgreSQL, wrk -t{WRK_THREADS} -c{connections}, {rounds} rounds x {seconds:.0f} s "
        "(medians of rounds):"
    )
    print(f"  {'':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, results in series.items():
        print(
            f"  {name:<30}{_median(results, lambda x: x.throughput):9.0f}"
            f"{_median(results, lambda x: x.percentile_ms('p50')):9.1f}"
            f"{_median(results, lambda x: x.percentile_ms('p99')):9.1f}"
        )
    print(
        f"  {paced.name:<30}{paced.throughput:9.0f}{paced.percentile_ms('p50'):9.1f}"
        f"{paced.percentile_ms('p99'):9.1f}  (target {target_rate:.0f}/s)"
    )

    def rps(name: str) -> float:
        return _median(series[name], lambda x: x.throughput)

    figures = {
        "accepted / bare insert": rps("gateway accepted") / rps("bare insert"),
        "healthz / bare healthz": rps("gateway healthz") / rps("bare healthz"),
        "accepted p99 at half bare peak (ms)": paced.percentile_ms("p99"),
        "half-rate achieved / target": paced.throughput / target_rate,
    }
    for name, value in figures.items():
        print(f"  {name:<40}{value:8.2f}")
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    return run(seconds=args.seconds, rounds=args.rounds, connections=args.connections)


if __name__ == "__main__":
    main()

"""What the gateway adds to a customer message on its way to Genesys, in the same run.

The repository's Genesys emulator (`python -m emulator`) and one gunicorn gateway
(gunicorn.conf.py: 2 workers x 4 threads, production settings) on the PostgreSQL of
scripts/services.sh. The same client sends, alternately in rounds:

- direct:  the inbound message straight to the emulator,
           POST /api/v2/conversations/messages/{integration}/inbound/open/message
           ?prefetchConversationId=true with a bearer token (baseline)
- floor:   POST /forward of benchmarks/bare with the gateway's body: one INSERT, the same
           Genesys call over http.client, one UPDATE; the least any Django service does
           (second baseline)
- gateway: POST /api/v1/tenants/<slug>/messages with the tenant's API key: cached key,
           validation, idempotency claim and rate-limit bucket (one statement), cached
           OAuth token, the same Genesys call, the result saved (with the routing map)

each with a new message id every time (no repeats), once with 8 concurrent keep-alive
connections (throughput) and once with a single one (latency without queueing), with the
CPU each kind of process used per request (from /proc). The client is wrk
(lua/bodies.lua, bodies written beforehand, each sent once): a Python client would take
much of the two cores it measures.

The gateway's per-tenant rate limit (300/min by default, a token bucket in the database)
would cap the gateway at about 4 requests/s and measure nothing but the limiter, so it is
set out of reach here (GENESYS_RATE_LIMIT_PER_MINUTE=100000000, burst 100000); the bucket's
row lock and UPDATE are still paid on every call and are part of the figure.

    python -m benchmarks.outbound [--seconds 5] [--rounds 3] [--connections 8]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import shutil
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from benchmarks import harness
from benchmarks.wrk import BodyFactory, WrkResult, bodies_write, wrk_run

WRK_THREADS = 2
MAX_RATE = 4_000  # bodies per second of run time written for each phase: more than served
CUSTOMERS = 50  # per wrk thread: conversations stay mapped and warm, as in production
CLIENT_ID = "benchmark-client"
CLIENT_SECRET = "benchmark-client-secret-0123456789"
WEBHOOK_SECRET = "benchmark-webhook-secret-0123456789"
TEXT = "Hi, I need help with my order #4821"


def _customer(thread: int, seq: int) -> str:
    return f"+1555{thread:03d}{seq % CUSTOMERS:04d}"


def direct_body(prefix: str) -> BodyFactory:
    """The Open Messaging inbound message the gateway would send, sent by the client."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def body(thread: int, seq: int) -> tuple[str, str]:
        message = {
            "channel": {
                "messageId": f"{prefix}-{thread}-{seq}",
                "time": now,
                "from": {"id": _customer(thread, seq), "idType": "Phone", "nickname": "Maria"},
            },
            "text": TEXT,
        }
        return "", json.dumps(message, separators=(",", ":"))

    return body


def gateway_body(prefix: str) -> BodyFactory:
    def body(thread: int, seq: int) -> tuple[str, str]:
        message = {
            "message_id": f"{prefix}-{thread}-{seq}",
            "from": {"id": _customer(thread, seq), "nickname": "Maria"},
            "text": TEXT,
        }
        return "", json.dumps(message, separators=(",", ":"))

    return body


@dataclass(frozen=True)
class Target:
    """Where one kind of request goes, and how it is answered when it works."""

    name: str
    base_url: str
    path: str
    authorization: str
    status: int
    body: Callable[[str], BodyFactory]


def _setup(env: dict[str, str], *, slug: str, integration_id: str, emulator_url: str) -> str:
    """Migrate, create the tenant wired to the emulator, verify it; return an API key."""
    harness.manage(env, "migrate", "--no-input", "-v", "0")
    harness.manage(
        env,
        "tenant",
        "create",
        slug,
        "--name",
        "Benchmark (emulated Genesys)",
        "--region",
        "custom",
        "--api-base-url",
        emulator_url,
        "--login-base-url",
        emulator_url,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
    )
    harness.manage(
        env, "tenant", "add-integration", slug, integration_id, "--secret", WEBHOOK_SECRET
    )
    harness.manage(env, "tenant", "verify", slug)  # fetches and caches the OAuth token
    return harness.manage(env, "tenant", "create-key", slug, "--name", "benchmark").strip()


def _token(emulator_url: str) -> str:
    response = requests.post(
        f"{emulator_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


EMULATOR_COMMAND = [harness.PYTHON, "-m", "emulator"]


def emulator_command_for(integration_id: str) -> list[str]:
    """The emulator the benchmark gateway's demo tenant is wired to."""
    return [
        *EMULATOR_COMMAND,
        "--port",
        str(harness.EMULATOR_PORT),
        "--gateway-url",
        f"http://127.0.0.1:{harness.GATEWAY_PORT}",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--integration-id",
        integration_id,
        "--webhook-secret",
        WEBHOOK_SECRET,
    ]


@contextmanager
def emulated_tenant(
    env: dict[str, str], workdir: Path, *, slug: str, integration_id: str
) -> Iterator[tuple[str, str]]:
    """The emulator running, and a tenant wired to it and verified: (emulator URL, API key)."""
    emulator_url = f"http://127.0.0.1:{harness.EMULATOR_PORT}"
    with harness.process(
        "emulator",
        emulator_command_for(integration_id),
        env=env,
        log=workdir / "emulator.log",
        ready_url=f"{emulator_url}/emulator/health",
    ):
        yield (
            emulator_url,
            _setup(env, slug=slug, integration_id=integration_id, emulator_url=emulator_url),
        )


def run(*, seconds: float, rounds: int, connections: int) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    slug = f"bench-{run_id}"
    # Integration ids are unique across tenants, and the database outlives one run.
    integration_id = str(uuid.uuid4())
    with harness.workdir("outbound") as workdir:
        env = harness.gateway_env(
            workdir,
            GENESYS_RATE_LIMIT_PER_MINUTE="100000000",
            GENESYS_RATE_LIMIT_BURST="100000",
        )
        with emulated_tenant(env, workdir, slug=slug, integration_id=integration_id) as (
            emulator_url,
            api_key,
        ):
            token = _token(emulator_url)
            direct = Target(
                "direct",
                emulator_url,
                f"/api/v2/conversations/messages/{integration_id}/inbound/open/message"
                "?prefetchConversationId=true",
                f"Bearer {token}",
                200,
                direct_body,
            )
            with (
                harness.gunicorn(env, workdir) as gateway_url,
                harness.bare_gunicorn(
                    env,
                    workdir,
                    BARE_GENESYS_URL=emulator_url,
                    BARE_GENESYS_INTEGRATION=integration_id,
                    BARE_GENESYS_TOKEN=token,
                ) as floor_url,
            ):
                gateway = Target(
                    "gateway",
                    gateway_url,
                    f"/api/v1/tenants/{slug}/messages",
                    f"Bearer {api_key}",
                    201,
                    gateway_body,
                )
                floor = Target("floor", floor_url, "/forward", "", 201, gateway_body)
                series, cpu = _measure(
                    [direct, floor, gateway], workdir=workdir, run_id=run_id,
                    seconds=seconds, rounds=rounds, connections=connections,
                )  # fmt: skip
            _check_emulator(emulator_url)
    return _report(series, cpu, rounds=rounds, seconds=seconds, connections=connections)


def _measure(
    targets: list[Target],
    *,
    workdir: Path,
    run_id: str,
    seconds: float,
    rounds: int,
    connections: int,
) -> tuple[dict[str, list[WrkResult]], dict[str, list[dict[str, float]]]]:
    """Alternating rounds of every target at `connections` and at one client; each phase
    with bodies of its own. Also the CPU each kind of process used per request, in ms."""
    phases = itertools.count()
    cpu: dict[str, list[dict[str, float]]] = {}

    def phase(target: Target, name: str, *, clients: int, length: float) -> WrkResult:
        threads = min(WRK_THREADS, clients)
        per_thread = int(MAX_RATE * length / threads)
        bodies = workdir / f"bodies-{next(phases)}"
        bodies_write(
            bodies,
            threads=threads,
            per_thread=per_thread,
            factory=target.body(f"{run_id}-{bodies.name}"),
        )
        before = harness.cpu_by_kind()
        result = wrk_run(
            name,
            base_url=target.base_url,
            path=target.path,
            seconds=length,
            threads=threads,
            connections=clients,
            bodies=bodies,
            authorization=target.authorization,
        )
        after = harness.cpu_by_kind()
        cpu.setdefault(name, []).append(
            {kind: (after[kind] - before[kind]) * 1000 / result.requests for kind in after}
        )
        shutil.rmtree(bodies)
        other = {code: n for code, n in result.statuses.items() if code != target.status}
        if other or result.errors:
            raise SystemExit(f"outbound: {name}: answers {other}, errors {result.errors}")
        if result.requests >= per_thread * threads:
            raise SystemExit(f"outbound: {name} ran out of bodies; raise MAX_RATE")
        return result

    # Warm-up: every gunicorn worker imports and connects; every customer's conversation
    # is mapped; the emulator's caches fill.
    for target in targets:
        phase(target, "warm", clients=connections, length=2)
    short = max(1.0, seconds * 2 / 3)
    plan: list[tuple[str, Callable[[], WrkResult]]] = []
    for clients, length, suffix in ((connections, seconds, ""), (1, short, " 1 client")):
        for target in targets:
            name = f"{target.name}{suffix}"
            plan.append(
                (name, functools.partial(phase, target, name, clients=clients, length=length))
            )
    series: dict[str, list[WrkResult]] = {name: [] for name, _ in plan}
    for _ in range(rounds):
        for name, measure in plan:
            series[name].append(measure())
    return series, cpu


def _check_emulator(emulator_url: str) -> None:
    """Every request the gateway sent must have passed the emulator's SDK-model check."""
    entities = requests.get(f"{emulator_url}/emulator/requests", timeout=30).json()["entities"]
    invalid = [e for e in entities if e.get("valid") is False]
    if invalid:
        raise SystemExit(f"outbound: {len(invalid)} requests failed validation: {invalid[:1]}")


def _median(results: list[WrkResult], value: Callable[[WrkResult], float]) -> float:
    return statistics.median(value(x) for x in results)


def _report(
    series: dict[str, list[WrkResult]],
    cpu: dict[str, list[dict[str, float]]],
    *,
    rounds: int,
    seconds: float,
    connections: int,
) -> dict[str, float]:
    print(
        f"outbound message (POST messages -> emulated Genesys), gunicorn 2 workers x 4 "
        f"threads, PostgreSQL, wrk, {rounds} rounds (medians of rounds):"
    )
    print(f"  {'':<22}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}  requests")
    for name, results in series.items():
        clients = 1 if "1 client" in name else connections
        print(
            f"  {name:<22}{clients:>8}{_median(results, lambda x: x.throughput):9.0f}"
            f"{_median(results, lambda x: x.percentile_ms('p50')):9.2f}"
            f"{_median(results, lambda x: x.percentile_ms('p99')):9.2f}"
            f"  {sum(x.requests for x in results)}"
        )

    kinds = [kind for kind, _ in harness.PROCESS_KINDS]
    print("  CPU ms per request by process (medians of rounds):")
    print(f"  {'':<22}" + "".join(f"{kind:>10}" for kind in kinds) + f"{'all':>10}")
    for name in series:
        per_kind = {k: statistics.median(r[k] for r in cpu[name]) for k in kinds}
        print(
            f"  {name:<22}"
            + "".join(f"{per_kind[k]:10.2f}" for k in kinds)
            + f"{sum(per_kind.values()):10.2f}"
        )

    def rps(name: str) -> float:
        return _median(series[name], lambda x: x.throughput)

    def p50(name: str) -> float:
        return _median(series[name], lambda x: x.percentile_ms("p50"))

    figures = {
        "gateway / direct throughput": rps("gateway") / rps("direct"),
        "floor / direct throughput": rps("floor") / rps("direct"),
        "gateway / floor throughput": rps("gateway") / rps("floor"),
        "gateway / direct, 1 client": rps("gateway 1 client") / rps("direct 1 client"),
        "added p50, 1 client (ms)": p50("gateway 1 client") - p50("direct 1 client"),
        "floor's added p50, 1 client (ms)": p50("floor 1 client") - p50("direct 1 client"),
        f"added p50, {connections} clients (ms)": p50("gateway") - p50("direct"),
    }
    for name, value in figures.items():
        unit = "" if "(ms)" in name else "x"
        print(f"  {name:<36}{value:7.2f}{unit}")
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per loaded phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8, help="of the loaded phases")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    return run(seconds=args.seconds, rounds=args.rounds, connections=args.connections)


if __name__ == "__main__":
    main()

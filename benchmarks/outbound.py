"""What the gateway adds to a customer message on its way to Genesys, in the same run.

The repository's Genesys emulator (`python -m emulator`) and one gunicorn gateway
(gunicorn.conf.py: 2 workers x 4 threads, production settings) on the PostgreSQL of
scripts/services.sh. The same client sends, alternately in rounds:

- direct:  the inbound message straight to the emulator,
           POST /api/v2/conversations/messages/{integration}/inbound/open/message
           ?prefetchConversationId=true with a bearer token (baseline)
- gateway: POST /api/v1/tenants/<slug>/messages with the tenant's API key: cached key,
           validation, idempotency claim and rate-limit bucket (one statement), cached
           OAuth token, the same Genesys call, the result saved (with the routing map)

each with a new message id every time (no repeats), once with 8 concurrent keep-alive
clients (throughput) and once with a single client (latency without queueing).

The gateway's per-tenant rate limit (300/min by default, a token bucket in the database)
would cap the gateway at about 4 requests/s and measure nothing but the limiter, so it is
set out of reach here (GENESYS_RATE_LIMIT_PER_MINUTE=100000000, burst 100000); the bucket's
row lock and UPDATE are still paid on every call and are part of the figure.

    python -m benchmarks.outbound [--seconds 5] [--rounds 3] [--processes 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from benchmarks import harness
from benchmarks.harness import LoadGenerator, PhaseResult, Series

MAX_PER_THREAD = 50_000
CLIENT_ID = "benchmark-client"
CLIENT_SECRET = "benchmark-client-secret-0123456789"
WEBHOOK_SECRET = "benchmark-webhook-secret-0123456789"
TEXT = "Hi, I need help with my order #4821"


def _customer(thread: int) -> str:
    return f"+1555{thread:07d}"


@dataclass(frozen=True)
class DirectRequests:
    """The Open Messaging inbound message the gateway would send, sent by the client."""

    emulator_url: str
    integration_id: str
    token: str
    prefix: str

    def __call__(self, thread: int, seq: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {
            "channel": {
                "messageId": f"{self.prefix}-{thread}-{seq}",
                "time": now,
                "from": {"id": _customer(thread), "idType": "Phone", "nickname": "Maria"},
            },
            "text": TEXT,
        }
        url = (
            f"{self.emulator_url}/api/v2/conversations/messages/{self.integration_id}"
            "/inbound/open/message?prefetchConversationId=true"
        )
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return "POST", url, json.dumps(body).encode(), headers


@dataclass(frozen=True)
class GatewayRequests:
    gateway_url: str
    slug: str
    api_key: str
    prefix: str

    def __call__(self, thread: int, seq: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        body = {
            "message_id": f"{self.prefix}-{thread}-{seq}",
            "from": {"id": _customer(thread), "nickname": "Maria"},
            "text": TEXT,
        }
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        url = f"{self.gateway_url}/api/v1/tenants/{self.slug}/messages"
        return "POST", url, json.dumps(body).encode(), headers


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


def run(*, seconds: float, rounds: int, processes: int, threads: int) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    slug = f"bench-{run_id}"
    # Integration ids are unique across tenants, and the database outlives one run.
    integration_id = str(uuid.uuid4())
    emulator_url = f"http://127.0.0.1:{harness.EMULATOR_PORT}"
    with harness.workdir("outbound") as workdir:
        env = harness.gateway_env(
            workdir,
            GENESYS_RATE_LIMIT_PER_MINUTE="100000000",
            GENESYS_RATE_LIMIT_BURST="100000",
        )
        emulator_command = emulator_command_for(integration_id)
        with harness.process(
            "emulator",
            emulator_command,
            env=env,
            log=workdir / "emulator.log",
            ready_url=f"{emulator_url}/emulator/health",
        ):
            api_key = _setup(
                env, slug=slug, integration_id=integration_id, emulator_url=emulator_url
            )
            token = _token(emulator_url)
            with harness.gunicorn(env, workdir) as gateway_url:
                series = _measure(
                    direct=lambda prefix: DirectRequests(
                        emulator_url, integration_id, token, prefix
                    ),
                    gateway=lambda prefix: GatewayRequests(gateway_url, slug, api_key, prefix),
                    warm_url=f"{emulator_url}/emulator/health",
                    run_id=run_id,
                    seconds=seconds,
                    rounds=rounds,
                    processes=processes,
                    threads=threads,
                )
            _check_emulator(emulator_url)
    return _report(series, rounds=rounds, seconds=seconds, concurrency=processes * threads)


def _measure(
    *,
    direct: Callable[[str], harness.RequestFactory],
    gateway: Callable[[str], harness.RequestFactory],
    warm_url: str,
    run_id: str,
    seconds: float,
    rounds: int,
    processes: int,
    threads: int,
) -> dict[str, Series]:
    loaded = LoadGenerator(processes=processes, threads=threads)
    single = LoadGenerator(processes=1, threads=1)
    try:

        def phase(
            load: LoadGenerator, name: str, factory: harness.RequestFactory, status: int, t: float
        ) -> PhaseResult:
            result = load.run(
                name, factory, seconds=t, max_requests_per_thread=MAX_PER_THREAD, warm_url=warm_url
            )
            harness.expect_status(result, status)
            return result

        # Warm-up: both gunicorn workers import and connect; the emulator's caches fill.
        for load in (loaded, single):
            load.run(
                "warm",
                direct(f"{run_id}-wd"),
                seconds=1,
                max_requests_per_thread=20,
                warm_url=warm_url,
            )
            load.run(
                "warm",
                gateway(f"{run_id}-wg"),
                seconds=1,
                max_requests_per_thread=20,
                warm_url=warm_url,
            )
        short = max(1.0, seconds * 2 / 3)
        return harness.alternate(
            [
                (
                    "direct",
                    lambda r: phase(loaded, "direct", direct(f"{run_id}-d{r}"), 200, seconds),
                ),
                (
                    "gateway",
                    lambda r: phase(loaded, "gateway", gateway(f"{run_id}-g{r}"), 201, seconds),
                ),
                (
                    "direct 1 client",
                    lambda r: phase(
                        single, "direct 1 client", direct(f"{run_id}-ds{r}"), 200, short
                    ),
                ),
                (
                    "gateway 1 client",
                    lambda r: phase(
                        single, "gateway 1 client", gateway(f"{run_id}-gs{r}"), 201, short
                    ),
                ),
            ],
            rounds,
        )
    finally:
        loaded.close()
        single.close()


def _check_emulator(emulator_url: str) -> None:
    """Every request the gateway sent must have passed the emulator's SDK-model check."""
    entities = requests.get(f"{emulator_url}/emulator/requests", timeout=30).json()["entities"]
    invalid = [e for e in entities if e.get("valid") is False]
    if invalid:
        raise SystemExit(f"outbound: {len(invalid)} requests failed validation: {invalid[:1]}")


def _report(
    series: dict[str, Series], *, rounds: int, seconds: float, concurrency: int
) -> dict[str, float]:
    direct, gateway = series["direct"], series["gateway"]
    direct_1, gateway_1 = series["direct 1 client"], series["gateway 1 client"]
    print(
        f"outbound message (POST messages -> emulated Genesys), gunicorn 2 workers x 4 "
        f"threads, PostgreSQL, {rounds} rounds (median round; latency over all rounds):"
    )
    print(f"  {'':<22}{'clients':>8}{'req/s':>9}{'p50':>11}{'p99':>11}  requests")
    for s, clients in (
        (direct, concurrency),
        (gateway, concurrency),
        (direct_1, 1),
        (gateway_1, 1),
    ):
        print(
            f"  {s.name:<22}{clients:>8}{s.throughput:9.0f}{harness.ms(s.percentile(50)):>11}"
            f"{harness.ms(s.percentile(99)):>11}  {s.requests}"
        )
    figures = {
        "gateway / direct throughput": gateway.throughput / direct.throughput,
        "gateway / direct, 1 client": gateway_1.throughput / direct_1.throughput,
        "added p50, 1 client (ms)": (gateway_1.percentile(50) - direct_1.percentile(50)) * 1000,
        f"added p50, {concurrency} clients (ms)": (gateway.percentile(50) - direct.percentile(50))
        * 1000,
    }
    for name, value in figures.items():
        unit = "" if "(ms)" in name else "x"
        print(f"  {name:<32}{value:7.2f}{unit}")
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per loaded phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="client threads per process")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    return run(
        seconds=args.seconds,
        rounds=args.rounds,
        processes=args.processes,
        threads=args.threads,
    )


if __name__ == "__main__":
    main()

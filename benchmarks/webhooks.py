"""The Open Messaging webhook accept path under gunicorn, against same-run baselines.

One gunicorn (gunicorn.conf.py: 2 workers x 4 threads, production settings, DEBUG off)
on the PostgreSQL of scripts/services.sh serves four kinds of request, alternated in
rounds so drift on the machine hits all alike:

- healthz:   GET /healthz, no database (baseline a: the HTTP + Django floor)
- rejected:  a webhook with a wrong signature: integration lookup, secret decryption and
             HMAC, then 401; nothing written (baseline b: everything but the write)
- accepted:  a correctly signed agent message with a new id every time: signature check,
             normalise, outbox INSERT, commit, 200 "accepted"
- duplicate: ids the seed phase stored, sent again: the same work, the INSERT finds the
             conflict, 200 "duplicate"

The relay does not run, so the outbox only grows during the run (as during a broker
outage). Afterwards the outbox row count is checked against the accepted answers.

    python -m benchmarks.webhooks [--seconds 4] [--rounds 3] [--processes 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import harness
from benchmarks.harness import LoadGenerator, PhaseResult, Series
from webhooks.signatures import signature_compute

PATH = "/webhooks/genesys/open-messaging"
MAX_PER_THREAD = 50_000  # with the time bound, at most this many requests per client
SEED_PER_THREAD = 100


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


@dataclass(frozen=True)
class HealthRequests:
    base_url: str

    def __call__(self, thread: int, seq: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "GET", f"{self.base_url}/healthz", None, {}


@dataclass(frozen=True)
class WebhookRequests:
    """Signed agent messages; ids `<prefix>-<thread>-<seq % cycle>` (cycle 0: never repeat)."""

    base_url: str
    template: str
    secret: str
    prefix: str
    cycle: int = 0

    def __call__(self, thread: int, seq: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        n = seq % self.cycle if self.cycle else seq
        body = (
            self.template.replace("@ID@", f"{self.prefix}-{thread}-{n}")
            .replace("@TO@", f"+1555{thread:07d}")
            .encode()
        )
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_compute(secret=self.secret, body=body),
        }
        return "POST", f"{self.base_url}{PATH}", body, headers


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


def _outbox_rows(env: dict[str, str], slug: str) -> int:
    output = harness.manage(
        env,
        "shell",
        "-c",
        "from webhooks.models import OutboxMessage; "
        f"print(OutboxMessage.objects.filter(tenant__slug={slug!r}).count())",
    )
    return int(output.strip().splitlines()[-1])


def run(*, seconds: float, rounds: int, processes: int, threads: int) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    slug = f"bench-{run_id}"
    integration_id = str(uuid.uuid4())
    secret = f"benchmark-webhook-secret-{run_id}"
    with harness.workdir("webhooks") as workdir:
        env = harness.gateway_env(workdir)
        _setup(env, slug=slug, integration_id=integration_id, secret=secret)
        with harness.gunicorn(env, workdir) as url:
            series = _measure(
                url=url,
                template=_template(integration_id),
                secret=secret,
                run_id=run_id,
                seconds=seconds,
                rounds=rounds,
                processes=processes,
                threads=threads,
            )
        stored = _outbox_rows(env, slug)
        _check_log(workdir / "gunicorn.log")
    expected = processes * threads * SEED_PER_THREAD + series["accepted"].requests
    if stored != expected:
        raise SystemExit(f"webhooks: {stored} outbox rows, expected {expected}")
    return _report(series, rounds=rounds, seconds=seconds, concurrency=processes * threads)


def _measure(
    *,
    url: str,
    template: str,
    secret: str,
    run_id: str,
    seconds: float,
    rounds: int,
    processes: int,
    threads: int,
) -> dict[str, Series]:
    load = LoadGenerator(processes=processes, threads=threads)
    warm = f"{url}/healthz"
    try:
        # Seed: ids the duplicate phase repeats; also warms both workers' connections.
        seed = WebhookRequests(url, template, secret, prefix=f"{run_id}-seed")
        result = load.run(
            "seed", seed, seconds=30, max_requests_per_thread=SEED_PER_THREAD, warm_url=warm
        )
        harness.expect_status(result, 200)
        if result.requests != processes * threads * SEED_PER_THREAD:
            raise SystemExit(f"webhooks: the seed phase sent only {result.requests} requests")

        def phase(name: str, factory: harness.RequestFactory, status: int) -> PhaseResult:
            result = load.run(
                name,
                factory,
                seconds=seconds,
                max_requests_per_thread=MAX_PER_THREAD,
                warm_url=warm,
            )
            harness.expect_status(result, status)
            return result

        wrong = WebhookRequests(url, template, secret + "-wrong", prefix=f"{run_id}-rejected")
        return harness.alternate(
            [
                ("healthz", lambda r: phase("healthz", HealthRequests(url), 200)),
                ("rejected", lambda r: phase("rejected", wrong, 401)),
                (
                    "accepted",
                    lambda r: phase(
                        "accepted",
                        WebhookRequests(url, template, secret, prefix=f"{run_id}-r{r}"),
                        200,
                    ),
                ),
                (
                    "duplicate",
                    lambda r: phase(
                        "duplicate",
                        WebhookRequests(
                            url, template, secret, prefix=f"{run_id}-seed", cycle=SEED_PER_THREAD
                        ),
                        200,
                    ),
                ),
            ],
            rounds,
        )
    finally:
        load.close()


def _check_log(log: Path) -> None:
    """The per-request JSON lines must say what the statuses said (no silent errors)."""
    text = log.read_text(errors="replace")
    if '"level": "error"' in text or "Traceback" in text:
        raise SystemExit(f"webhooks: errors in the gateway's log:\n{text[-3000:]}")


def _report(
    series: dict[str, Series], *, rounds: int, seconds: float, concurrency: int
) -> dict[str, float]:
    health, rejected = series["healthz"], series["rejected"]
    accepted, duplicate = series["accepted"], series["duplicate"]
    print(
        f"webhook accept path, gunicorn 2 workers x 4 threads, PostgreSQL, {concurrency} "
        f"keep-alive clients, {rounds} rounds x {seconds:.0f} s (median round; latency over "
        "all rounds):"
    )
    print(f"  {'':<22}{'req/s':>9}{'p50':>11}{'p99':>11}  requests")
    for s in (health, rejected, accepted, duplicate):
        print(
            f"  {s.name:<22}{s.throughput:9.0f}{harness.ms(s.percentile(50)):>11}"
            f"{harness.ms(s.percentile(99)):>11}  {s.requests}"
        )
    ratios = {
        "accepted / healthz": accepted.throughput / health.throughput,
        "accepted / rejected": accepted.throughput / rejected.throughput,
        "duplicate / rejected": duplicate.throughput / rejected.throughput,
        "duplicate / accepted": duplicate.throughput / accepted.throughput,
        "rejected / healthz": rejected.throughput / health.throughput,
        "accepted p50 / healthz p50": accepted.percentile(50) / health.percentile(50),
        "accepted p99 / healthz p99": accepted.percentile(99) / health.percentile(99),
    }
    for name, value in ratios.items():
        print(f"  {name:<28}{value:6.2f}x")
    return ratios


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="client threads per process")
    args = parser.parse_args(argv)
    return run(
        seconds=args.seconds, rounds=args.rounds, processes=args.processes, threads=args.threads
    )


if __name__ == "__main__":
    main()

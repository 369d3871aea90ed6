"""CPU per request of the webhooks service, in-process: no server, no client, no network.

One request at a time through Django's WSGI handler with the production settings of the
webhooks service (`GATEWAY_POOL=webhooks`, `DEBUG` off, Prometheus in multiprocess mode,
JSON request logs), on the PostgreSQL of scripts/services.sh. Under load the two cores are
shared by gunicorn, PostgreSQL and wrk, so what a request costs in the server's own CPU is
the figure that decides how many requests they serve; it is also far less noisy than a
throughput ratio on a shared machine.

    python -m benchmarks.inprocess [--requests 3000] [--profile healthz|accepted|known-conv]

Prints, per request, the process's CPU time (user and system, os.times), the CPU time of
its PostgreSQL backend (/proc) and the wall time, for `/healthz`, an accepted Open
Messaging webhook of a customer with no conversation (as in benchmarks/ingest.py) and one
of a customer whose conversation is known (its state is updated too), each with a new
message id. `--profile` adds a cProfile profile on the CPU clock.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks import harness


def _environ(
    path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST" if body else "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8001",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _measure(name: str, count: int, call: Callable[[int], None], *, out: Any) -> None:
    for n in range(min(200, count)):  # warm: connections, caches, imports
        call(-n - 1)
    database = harness.database_backend_cpu_s()
    before, wall = os.times(), time.perf_counter()
    for n in range(count):
        call(n)
    after, wall = os.times(), time.perf_counter() - wall
    database = harness.database_backend_cpu_s() - database
    user, system = after.user - before.user, after.system - before.system

    def ms(seconds: float) -> str:
        return f"{seconds / count * 1000:6.3f}"

    print(
        f"  {name:<10} CPU {ms(user + system)} ms/request (user {ms(user)}, system "
        f"{ms(system)}), its PostgreSQL backend {ms(database)} ms   wall {ms(wall)} ms",
        file=out,
    )


_CUSTOMER_IN_CONVERSATION = "+15559999999"


def _conversation_record(integration_id: str) -> None:
    """A conversation of _CUSTOMER_IN_CONVERSATION, as the API side records it."""
    from tenants.models import Integration
    from tenants.services import conversation_record

    integration = Integration.objects.select_related("tenant").get(integration_id=integration_id)
    conversation_record(
        tenant=integration.tenant,
        conversation_id=str(uuid.uuid4()),
        integration=integration,
        customer_id=_CUSTOMER_IN_CONVERSATION,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", choices=["healthz", "accepted", "known-conv"])
    args = parser.parse_args(argv)

    run_id = uuid.uuid4().hex[:8]
    slug, integration_id = f"inproc-{run_id}", str(uuid.uuid4())
    secret = f"inproc-webhook-secret-{run_id}"
    with harness.workdir("inprocess") as workdir:
        env = harness.gateway_env(workdir, GATEWAY_POOL="webhooks")
        from benchmarks.ingest import _setup, _template

        _setup(env, slug=slug, integration_id=integration_id, secret=secret)
        os.environ.update(env)
        # The request log lines go where gunicorn's stdout would, a file, not the terminal.
        log = (workdir / "requests.log").open("w")
        sys.stdout, terminal = log, sys.stdout
        try:
            _run(
                args, integration_id=integration_id, secret=secret, template=_template, out=terminal
            )
        finally:
            sys.stdout = terminal
            log.close()


def _run(
    args: argparse.Namespace,
    *,
    integration_id: str,
    secret: str,
    template: Callable[[str], str],
    out: Any,
) -> None:
    from django.core.wsgi import get_wsgi_application

    from webhooks.signatures import signature_compute

    application = get_wsgi_application()
    body_template = template(integration_id)

    def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        assert status.startswith("200"), status
        return None

    def healthz(n: int) -> None:
        b"".join(application(_environ("/healthz"), respond))

    def webhook(customer: str) -> None:
        text = body_template.replace("@ID@", f"inproc-{uuid.uuid4().hex}")
        body = text.replace("@TO@", customer).encode()
        headers = {"X-Hub-Signature-256": signature_compute(secret=secret, body=body)}
        environ = _environ("/webhooks/genesys/open-messaging", body=body, headers=headers)
        b"".join(application(environ, respond))

    def accepted(n: int) -> None:
        webhook(f"+1555{n % 5000:07d}")  # no conversation, as in benchmarks/ingest.py

    def in_conversation(n: int) -> None:
        webhook(_CUSTOMER_IN_CONVERSATION)  # the conversation's state is updated too

    _conversation_record(integration_id)
    calls = {"healthz": healthz, "accepted": accepted, "known-conv": in_conversation}
    print(f"in-process, one request at a time, {args.requests} requests each:", file=out)
    for name, call in calls.items():
        _measure(name, args.requests, call, out=out)
    if args.profile:
        # cProfile on the CPU clock: what the request costs the server, not its waits.
        profiler = cProfile.Profile(time.process_time)
        call = calls[args.profile]
        profiler.enable()
        for n in range(args.requests):
            call(n)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

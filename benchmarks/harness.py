"""What the HTTP benchmarks share: the gateway's settings, servers started and stopped by
PID, and a bounded keep-alive load generator.

Every figure is meant to be read as a ratio to a baseline measured by the same client
against the same server in the same run; absolute numbers on a shared 2-core machine say
little. The load generator runs in its own processes (so the client is not capped by one
GIL) on the same machine as the server: client and server share the CPUs, for the
baseline and the measured path alike.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Below the ephemeral range (32768+), shifted like scripts/services.sh's ports.
PORT_OFFSET = int(os.environ.get("GW_PORT_OFFSET", "0"))
GATEWAY_PORT = int(os.environ.get("BENCH_GATEWAY_PORT", str(28000 + PORT_OFFSET)))
EMULATOR_PORT = int(os.environ.get("BENCH_EMULATOR_PORT", str(28100 + PORT_OFFSET)))


def gateway_env(workdir: Path, **extra: str) -> dict[str, str]:
    """Production settings for a benchmark gateway on the services' PostgreSQL."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit(
            "benchmarks need PostgreSQL: run scripts/services.sh start and source its env file"
        )
    metrics = workdir / "prometheus"
    metrics.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings.base",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        # No Celery worker runs in a benchmark; a wake-up per commit would only pile up.
        "OUTBOX_WAKE_CELERY": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "GUNICORN_BIND": f"127.0.0.1:{GATEWAY_PORT}",
        "GUNICORN_WORKERS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """Run a management command; its stdout, or exit with its stderr."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=True
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args[:2])} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def wait_for(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url, timeout=1).close()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not come up within {seconds:.0f} s") from None
            time.sleep(0.2)


@contextmanager
def process(
    name: str, command: Sequence[str], *, env: dict[str, str], log: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own session, stopped by its PID (and its process group) afterwards."""
    with log.open("wb") as output:
        child = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            wait_for(ready_url)
        except SystemExit:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{name} did not start (pid {child.pid}):\n{tail}") from None
        if child.poll() is not None:
            raise SystemExit(f"{name} exited at once: {log.read_text(errors='replace')[-2000:]}")
        yield child
    finally:
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)  # gunicorn stops its workers on TERM
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # our own session: pgid == pid
            child.wait()


@contextmanager
def background(
    name: str, command: Sequence[str], *, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A process with no URL to wait for (a Celery worker), stopped by its PID afterwards."""
    with log.open("wb") as output:
        child = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        time.sleep(1.0)
        if child.poll() is not None:
            raise SystemExit(f"{name} exited at once: {log.read_text(errors='replace')[-2000:]}")
        yield child
    finally:
        _stop(child)


@contextmanager
def gunicorn(env: dict[str, str], workdir: Path) -> Iterator[str]:
    """The gateway under gunicorn with gunicorn.conf.py (2 workers, 4 threads each)."""
    command = [str(Path(PYTHON).parent / "gunicorn"), "genesys_gateway.wsgi"]
    url = f"http://127.0.0.1:{GATEWAY_PORT}"
    with process(
        "gunicorn", command, env=env, log=workdir / "gunicorn.log", ready_url=f"{url}/healthz"
    ):
        yield url


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"genesys-bench-{prefix}-") as name:
        yield Path(name)


# --- Load generation --------------------------------------------------------------------


class RequestFactory(Protocol):
    """Builds request number `seq` of client thread `thread` (picklable: sent to workers)."""

    def __call__(self, thread: int, seq: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        """(method, url, body, headers)."""
        ...


@dataclass
class _Shard:
    count: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    first_start: float = float("inf")
    last_end: float = 0.0


@dataclass
class PhaseResult:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`, in the values' unit."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _thread_loop(
    factory: RequestFactory,
    thread: int,
    start_at: float,
    stop_at: float,
    max_requests: int,
    warm_url: str,
    shard: _Shard,
    lock: threading.Lock,
) -> None:
    session = requests.Session()
    try:
        session.get(warm_url, timeout=10).close()  # open the keep-alive connection first
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        time.sleep(max(0.0, start_at - time.time()))
        first = time.time()
        seq = 0
        while seq < max_requests and time.time() < stop_at:
            method, url, body, headers = factory(thread, seq)
            began = time.perf_counter()
            try:
                response = session.request(method, url, data=body, headers=headers, timeout=10)
                response.content  # noqa: B018 - read the whole answer
                statuses[response.status_code] += 1
            except requests.RequestException:
                statuses[0] += 1
            latencies.append(time.perf_counter() - began)
            seq += 1
        last = time.time()
    finally:
        session.close()
    with lock:
        shard.count += seq
        shard.latencies.extend(latencies)
        shard.statuses.update(statuses)
        shard.first_start = min(shard.first_start, first)
        shard.last_end = max(shard.last_end, last)


def _worker(
    factory: RequestFactory,
    threads: range,
    start_at: float,
    stop_at: float,
    max_requests: int,
    warm_url: str,
) -> _Shard:
    shard = _Shard()
    lock = threading.Lock()
    pool = [
        threading.Thread(
            target=_thread_loop,
            args=(factory, n, start_at, stop_at, max_requests, warm_url, shard, lock),
        )
        for n in threads
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return shard


class LoadGenerator:
    """`processes` x `threads` keep-alive clients, each bounded by a count and a time."""

    def __init__(self, *, processes: int = 2, threads: int = 4) -> None:
        self.processes = processes
        self.threads = threads
        context = multiprocessing.get_context("spawn")
        self._pool = concurrent.futures.ProcessPoolExecutor(processes, mp_context=context)

    @property
    def concurrency(self) -> int:
        return self.processes * self.threads

    def run(
        self,
        name: str,
        factory: RequestFactory,
        *,
        seconds: float,
        max_requests_per_thread: int,
        warm_url: str,
    ) -> PhaseResult:
        start_at = time.time() + 1.0  # every client connected and waiting
        stop_at = start_at + seconds
        futures = [
            self._pool.submit(
                _worker,
                factory,
                range(p * self.threads, (p + 1) * self.threads),
                start_at,
                stop_at,
                max_requests_per_thread,
                warm_url,
            )
            for p in range(self.processes)
        ]
        shards = [f.result(timeout=seconds + 60) for f in futures]
        if not any(s.count for s in shards):
            raise SystemExit(f"{name}: no request was made (is the server up?)")
        latencies = [x for s in shards for x in s.latencies]
        statuses: Counter[int] = Counter()
        for s in shards:
            statuses.update(s.statuses)
        began = min(s.first_start for s in shards)
        ended = max(s.last_end for s in shards)
        return PhaseResult(
            name=name,
            requests=sum(s.count for s in shards),
            seconds=ended - began,
            latencies=latencies,
            statuses=dict(statuses),
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def expect_status(result: PhaseResult, status: int) -> None:
    """A phase whose answers are not what it measures is no measurement: stop."""
    wrong = {code: n for code, n in result.statuses.items() if code != status}
    if wrong:
        raise SystemExit(
            f"{result.name}: expected every answer to be {status}, got {result.statuses}"
        )


@dataclass
class Series:
    """Rounds of one phase; the median round counts, latencies pool all rounds."""

    name: str
    rounds: list[PhaseResult] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return statistics.median(r.throughput for r in self.rounds)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    def percentile(self, q: float) -> float:
        return percentile([x for r in self.rounds for x in r.latencies], q)


def alternate(
    phases: Sequence[tuple[str, Callable[[int], PhaseResult]]], rounds: int
) -> dict[str, Series]:
    """Run each phase once per round, in turn, so drift on the machine hits all alike."""
    series = {name: Series(name) for name, _ in phases}
    for number in range(rounds):
        for name, run in phases:
            series[name].rounds.append(run(number))
    return series


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"

"""What the HTTP benchmarks share: the gateway's settings and servers started and stopped
by PID. The load itself comes from wrk (benchmarks/wrk.py).

Every figure is meant to be read as a ratio to a baseline measured by the same client
against the same server in the same run; absolute numbers on a shared 2-core machine say
little. Client and server share the CPUs, for the baseline and the measured path alike.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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


BARE_PORT = 28200 + PORT_OFFSET
BARE_CONFIG = ROOT / "benchmarks" / "bare" / "gunicorn.conf.py"


@contextmanager
def bare_gunicorn(env: dict[str, str], workdir: Path, **extra: str) -> Iterator[str]:
    """benchmarks/bare (no middleware, the least Django work) under the gateway's gunicorn
    shape, on the gateway's database; `extra` is added to its environment."""
    bare_env = {**env, **extra, "GUNICORN_BIND": f"127.0.0.1:{BARE_PORT}"}
    bare_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    url = f"http://127.0.0.1:{BARE_PORT}"
    gunicorn_path = str(Path(PYTHON).parent / "gunicorn")
    command = [gunicorn_path, "-c", str(BARE_CONFIG), "benchmarks.bare.wsgi"]
    with process(
        "bare gunicorn", command, env=bare_env, log=workdir / "bare.log", ready_url=f"{url}/healthz"
    ):
        yield url


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"genesys-bench-{prefix}-") as name:
        yield Path(name)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`, in the values' unit."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# What each kind of process on the machine is, by a piece of its command line.
PROCESS_KINDS = (
    ("gateway", "genesys_gateway.wsgi"),
    ("floor", "benchmarks.bare.wsgi"),
    ("emulator", "-m emulator"),
    ("postgres", "postgres"),
)


def process_cpu_s(pid: int | str) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backend_cpu_s() -> float:
    """CPU seconds the PostgreSQL backend of this process's Django connection has used (the
    services run on the same machine: scripts/services.sh)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return process_cpu_s(pid)


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds (user + system) used so far by every live process of each kind in
    PROCESS_KINDS, from /proc: the difference of two readings is what each used between."""
    totals = dict.fromkeys((kind for kind, _ in PROCESS_KINDS), 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            kind = next((kind for kind, marker in PROCESS_KINDS if marker in command), None)
            if kind is not None:
                totals[kind] += process_cpu_s(entry.name)
        except OSError:  # gone meanwhile
            continue
    return totals

"""Drive `wrk` (a compiled load generator, Debian's package) from the benchmarks.

A Python client would eat the cores it is measuring; wrk costs a fraction of that. Signed
bodies are built here beforehand, one file per wrk thread, and lua/bodies.lua sends each
once. wrk's `--latency` percentiles and the status counts come back as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "lua" / "bodies.lua"

# (thread, sequence) -> (signature header or "", body)
BodyFactory = Callable[[int, int], tuple[str, str]]


@dataclass(frozen=True)
class WrkResult:
    name: str
    requests: int
    seconds: float
    errors: int
    statuses: dict[int, int]
    latency_us: dict[str, int]  # p50, p90, p99, p99.9

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, name: str) -> float:
        return self.latency_us[name] / 1000.0


def wrk_require() -> str:
    """The wrk binary; installed from Debian's package when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def bodies_write(directory: Path, *, threads: int, per_thread: int, factory: BodyFactory) -> None:
    """One file per wrk thread: `<signature>\\t<body>` lines, each body sent once."""
    directory.mkdir(parents=True, exist_ok=True)
    for thread in range(threads):
        with (directory / f"{thread}.req").open("w") as out:
            for seq in range(per_thread):
                signature, body = factory(thread, seq)
                if "\n" in body or "\t" in signature:
                    raise ValueError("bodies must be single-line JSON")
                out.write(f"{signature or '-'}\t{body}\n")


def wrk_run(
    name: str,
    *,
    base_url: str,
    path: str,
    seconds: float,
    threads: int = 2,
    connections: int = 16,
    bodies: Path | None = None,
    delay_ms: int = 0,
    authorization: str = "",
) -> WrkResult:
    """One wrk run; bodies=None GETs the path. `authorization` goes in every request."""
    env = {
        **os.environ,
        "TARGET_PATH": path,
        "BODIES_DIR": str(bodies) if bodies else "",
        "DELAY_MS": str(delay_ms),
        "AUTHORIZATION": authorization,
    }
    command = [
        wrk_require(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(SCRIPT),
        base_url,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    statuses: dict[int, int] = {}
    for part in data["status"]:
        for status, count in part.items():
            statuses[int(status)] = statuses.get(int(status), 0) + count
    return WrkResult(
        name=name,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        statuses=statuses,
        latency_us={key: data[key] for key in ("p50", "p90", "p99", "p99.9")},
    )


def wrk_delay_calibrated(
    load: Callable[[int], WrkResult], *, rate: float, connections: int, warmups: int = 2
) -> int:
    """The delay() in ms that paces `connections` at about `rate` requests/s.

    Each connection waits delay() after each answer, so the rate is
    connections * 1000 / (delay + latency): `load(delay_ms)` runs short warm-ups that
    measure the latency at that rate, and the delay is shortened by it.
    """
    period_ms = connections * 1000 / rate
    delay = max(1, round(period_ms))
    for _ in range(warmups):
        warm = load(delay)
        latency_ms = max(0.0, connections * 1000 / max(warm.throughput, 1) - delay)
        delay = max(1, round(period_ms - latency_ms))
    return delay

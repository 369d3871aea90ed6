"""Media upload and download throughput through the gateway, against a file copy.

One gunicorn gateway (gunicorn.conf.py, production settings, MEDIA_ROOT in the run's
work folder) on the PostgreSQL of scripts/services.sh. One client, alternately in rounds:

- copy:     shutil.copyfile of the test file to another file in the same folder: the
            same disk's read + write, no network, no gateway (baseline)
- upload:   POST /api/v1/tenants/<slug>/media with the file as the body (Content-Length):
            socket -> 64 KiB chunks -> sha256 -> spooled file -> renamed into MEDIA_ROOT
- sink:     the same POST to a bare WSGI app under the same gunicorn settings that only
            reads the body (benchmarks/wsgi_sink.py): gunicorn's own request-body
            reading, the ceiling of any upload (second baseline)
- download: GET the signed URL, written to a file in the same folder in 1 MiB chunks:
            token check, one row read, sendfile() from MEDIA_ROOT

The test file is on the same disk as MEDIA_ROOT, so every path reads and writes the same
disk (through the page cache: the figures are of the gateway's own costs, not the disk's).

    python -m benchmarks.media [--size-mib 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

from benchmarks import harness

MIB = 1024 * 1024
SINK_PORT = harness.GATEWAY_PORT + 50


def _setup(env: dict[str, str], *, slug: str) -> str:
    """Migrate and create a tenant; return an API key."""
    harness.manage(env, "migrate", "--no-input", "-v", "0")
    harness.manage(env, "createcachetable")
    harness.manage(
        env,
        "tenant",
        "create",
        slug,
        "--name",
        "Benchmark (media)",
        "--region",
        "custom",
        "--api-base-url",
        "http://127.0.0.1:9",
        "--login-base-url",
        "http://127.0.0.1:9",
        "--client-id",
        "benchmark-client",
        "--client-secret",
        "benchmark-client-secret-0123456789",
    )
    return harness.manage(env, "tenant", "create-key", slug, "--name", "benchmark").strip()


def _test_file(path: Path, size: int) -> None:
    with path.open("wb") as output:
        output.write(b"\x89PNG\r\n\x1a\n")
        written = 8
        while written < size:
            chunk = os.urandom(min(MIB, size - written))
            output.write(chunk)
            written += len(chunk)


def _timed(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def run(*, size_mib: int, rounds: int) -> dict[str, float]:
    slug = f"bench-media-{uuid.uuid4().hex[:8]}"
    size = size_mib * MIB
    with harness.workdir("media") as workdir:
        gateway = f"http://127.0.0.1:{harness.GATEWAY_PORT}"
        env = harness.gateway_env(
            workdir, MEDIA_ROOT=str(workdir / "media"), MEDIA_PUBLIC_BASE_URL=gateway
        )
        api_key = _setup(env, slug=slug)
        source = workdir / "source.png"
        _test_file(source, size)
        session = requests.Session()
        upload_url = f"{gateway}/api/v1/tenants/{slug}/media"
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "image/png"}
        signed: list[str] = []

        def copy() -> None:
            shutil.copyfile(source, workdir / "copy.png")

        def upload() -> None:
            with source.open("rb") as body:
                response = session.post(upload_url, data=body, headers=headers, timeout=120)
            if response.status_code != 201:
                raise SystemExit(f"media: upload answered {response.status_code}")
            signed.append(response.json()["url"])

        def download() -> None:
            with (
                session.get(signed[-1], stream=True, timeout=120) as response,
                (workdir / "download.png").open("wb") as output,
            ):
                if response.status_code != 200:
                    raise SystemExit(f"media: download answered {response.status_code}")
                for chunk in response.iter_content(MIB):
                    output.write(chunk)
            if (workdir / "download.png").stat().st_size != size:
                raise SystemExit("media: the download is not the uploaded size")

        sink_url = f"http://127.0.0.1:{SINK_PORT}/"

        def sink() -> None:
            with source.open("rb") as body:
                response = session.post(sink_url, data=body, timeout=120)
            if response.text != str(size):
                raise SystemExit(f"media: the sink read {response.text} bytes")

        phases = (("copy", copy), ("sink", sink), ("upload", upload), ("download", download))
        seconds: dict[str, list[float]] = {name: [] for name, _ in phases}
        sink_command = [str(Path(harness.PYTHON).parent / "gunicorn"), "benchmarks.wsgi_sink"]
        sink_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{SINK_PORT}"}
        with (
            harness.gunicorn(env, workdir),
            harness.process(
                "sink", sink_command, env=sink_env, log=workdir / "sink.log", ready_url=sink_url
            ),
        ):
            upload()  # warm-up: imports, connections, first request paths
            download()
            sink()
            for _ in range(rounds):
                for name, work in phases:
                    seconds[name].append(_timed(work))
    return _report(seconds, size=size, rounds=rounds)


def _report(seconds: dict[str, list[float]], *, size: int, rounds: int) -> dict[str, float]:
    rate = {name: size / MIB / statistics.median(times) for name, times in seconds.items()}
    print(
        f"media, one {size // MIB} MiB file, one client, gunicorn 2 workers x 4 threads, "
        f"{rounds} rounds (median):"
    )
    for name, mib_s in rate.items():
        print(f"  {name:<10}{mib_s:9.0f} MiB/s")
    figures = {
        "upload / file copy throughput": rate["upload"] / rate["copy"],
        "upload / bare gunicorn read throughput": rate["upload"] / rate["sink"],
        "download / file copy throughput": rate["download"] / rate["copy"],
    }
    for name, value in figures.items():
        print(f"  {name:<40}{value:6.2f}x")
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=20, help="test file size (MiB)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    return run(size_mib=args.size_mib, rounds=args.rounds)


if __name__ == "__main__":
    main()

"""A 25 MB file up and down through a real gunicorn worker whose memory is watched.

The worker's peak resident memory (VmHWM, reset just before the transfer) must stay
within 10 MB of what it used before: the bytes are streamed, never held.
"""

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tenants import services as tenant_services
from tests.conftest import subprocess_env

REPO = Path(__file__).resolve().parents[2]
PORT = 27000 + int(os.environ.get("GW_PORT_OFFSET", "0"))
MIB = 1024 * 1024
SIZE = 25 * MIB
RSS_HEADROOM = 10 * MIB

pytestmark = pytest.mark.slow


@dataclass
class LiveGateway:
    url: str
    upload_url: str
    key: str
    worker_pid: int

    def memory(self, field: str) -> int:
        """A /proc/<worker>/status figure (VmRSS, VmHWM) in bytes."""
        for line in Path(f"/proc/{self.worker_pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"{field} not in /proc/{self.worker_pid}/status")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.worker_pid}/clear_refs").write_text("5")

    def upload(self, body: object, **headers: str) -> requests.Response:
        return requests.post(
            self.upload_url,
            data=body,
            headers={"Authorization": f"Bearer {self.key}", **headers},
            timeout=120,
        )


def _worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = children.read_text().split()
        if pids:
            return int(pids[0])
        time.sleep(0.1)
    raise AssertionError("gunicorn started no worker")


@pytest.fixture
def live_gateway(transactional_db: None, tmp_path: Path) -> Iterator[LiveGateway]:
    tenant = tenant_services.tenant_create(
        slug="acme",
        name="Acme",
        region="custom",
        api_base_url="https://api.genesys.test",
        login_base_url="https://login.genesys.test",
        client_id="client",
        client_secret="client-secret-value-1234",
    )
    _, key = tenant_services.api_key_create(tenant=tenant, name="live")
    url = f"http://127.0.0.1:{PORT}"
    env = subprocess_env(
        MEDIA_ROOT=str(tmp_path / "media"),
        MEDIA_PUBLIC_BASE_URL=url,
        GUNICORN_BIND=f"127.0.0.1:{PORT}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "gunicorn.log").open("wb")
    master = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "genesys_gateway.wsgi"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert master.poll() is None, (tmp_path / "gunicorn.log").read_text()
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
        yield LiveGateway(
            url=url,
            upload_url=f"{url}/api/v1/tenants/acme/media",
            key=key,
            worker_pid=_worker_pid(master.pid),
        )
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(master.pid, signal.SIGKILL)  # our own session: pgid == pid
            master.wait()
        log.close()


def _png_file(path: Path, size: int) -> str:
    """A `size`-byte file that starts like a PNG; its sha256."""
    hasher = hashlib.sha256()
    with path.open("wb") as output:
        block = b"\x89PNG\r\n\x1a\n" + os.urandom(MIB - 8)
        written = 0
        while written < size:
            chunk = block[: size - written]
            output.write(chunk)
            hasher.update(chunk)
            written += len(chunk)
            block = os.urandom(MIB)
    return hasher.hexdigest()


def test_25_mb_goes_up_and_down_with_flat_worker_memory(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    source = tmp_path / "big.png"
    digest = _png_file(source, SIZE)
    # Warm up: imports, database connection, first request paths.
    warm = live_gateway.upload(b"\x89PNG\r\n\x1a\n" + b"x" * 1000, **{"Content-Type": "image/png"})
    assert warm.status_code == 201, warm.text
    assert requests.get(warm.json()["url"], timeout=10).status_code == 200
    assert requests.get(warm.json()["url"], headers={"Range": "bytes=1-"}, timeout=10).ok
    before = live_gateway.memory("VmRSS")
    live_gateway.reset_peak()

    with source.open("rb") as body:
        response = live_gateway.upload(body, **{"Content-Type": "image/png"})
    assert response.status_code == 201, response.text
    uploaded = response.json()
    assert uploaded["size"] == SIZE
    assert uploaded["sha256"] == digest

    for headers, expected_status, expected_size in [
        ({}, 200, SIZE),  # the whole file (sendfile)
        ({"Range": "bytes=1000-"}, 206, SIZE - 1000),  # one range (streamed in chunks)
    ]:
        hasher, received = hashlib.sha256(), 0
        with requests.get(uploaded["url"], headers=headers, stream=True, timeout=120) as download:
            assert download.status_code == expected_status
            assert download.headers["Content-Length"] == str(expected_size)
            for chunk in download.iter_content(chunk_size=MIB):
                hasher.update(chunk)
                received += len(chunk)
        assert received == expected_size
        if expected_status == 200:
            assert hasher.hexdigest() == digest

    peak = live_gateway.memory("VmHWM")
    assert peak - before < RSS_HEADROOM, f"worker peak grew by {(peak - before) / MIB:.1f} MiB"


def test_a_chunked_upload_past_the_limit_is_413_while_reading(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    sent = {"bytes": 0}

    def endless() -> Iterator[bytes]:
        block = b"\x89PNG\r\n\x1a\n" + os.urandom(MIB - 8)
        while sent["bytes"] < SIZE + 5 * MIB:
            sent["bytes"] += len(block)
            yield block

    try:
        response = live_gateway.upload(endless(), **{"Content-Type": "image/png"})
    except requests.ConnectionError:
        pytest.fail("the gateway closed the connection instead of answering 413")
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/media-too-large")
    assert not list((tmp_path / "media").rglob("acme/*"))

    ok = live_gateway.upload(iter([b"\x89PNG\r\n\x1a\n", b"rest"]), **{"Content-Type": "image/png"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["size"] == 12
    assert requests.get(ok.json()["url"], timeout=10).content == b"\x89PNG\r\n\x1a\nrest"

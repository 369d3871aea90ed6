"""Copying a file from a URL, against a real HTTP server on loopback."""

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from media.fetch import MediaFetchPermanentError, MediaFetchTransientError, media_copy_from_url
from media.models import Media
from tenants.models import Tenant
from tests.media.conftest import PNG

PORT = 27060 + int(os.environ.get("GW_PORT_OFFSET", "0"))
BASE = f"http://127.0.0.1:{PORT}"


class FileServer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "image/png") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/photo.png":
            self._answer(200, PNG)
        elif self.path == "/untyped":
            self._answer(200, PNG, "application/octet-stream")
        elif self.path == "/busy":
            self._answer(503, b"")
        elif self.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG[:10])
            self.wfile.flush()
            time.sleep(2)
        else:
            self._answer(404, b"")


@pytest.fixture(scope="module")
def file_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", PORT), FileServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield BASE
    server.shutdown()
    server.server_close()


def test_a_file_is_copied_with_its_declared_type(
    file_server: str, tenant: Tenant, media_root: Path
) -> None:
    media = media_copy_from_url(
        tenant=tenant,
        url=f"{file_server}/photo.png",
        mime="image/png",
        filename="agent.png",
        sha256=hashlib.sha256(PNG).hexdigest(),
    )
    assert (media_root / media.storage_name).read_bytes() == PNG
    assert media.filename == "agent.png"
    assert media.tenant == tenant


def test_without_a_declared_type_the_response_type_is_used(
    file_server: str, tenant: Tenant
) -> None:
    assert media_copy_from_url(tenant=tenant, url=f"{file_server}/photo.png").mime == "image/png"
    with pytest.raises(MediaFetchPermanentError, match="not accepted"):
        media_copy_from_url(tenant=tenant, url=f"{file_server}/untyped")


def test_a_checksum_mismatch_keeps_nothing(
    file_server: str, tenant: Tenant, media_root: Path
) -> None:
    with pytest.raises(MediaFetchPermanentError, match="sha256"):
        media_copy_from_url(tenant=tenant, url=f"{file_server}/photo.png", sha256="0" * 64)
    assert not Media.objects.exists()
    assert not list(media_root.rglob("acme/*/*/*"))


def test_limits_and_types_are_permanent_failures(
    file_server: str, tenant: Tenant, settings: Any
) -> None:
    with pytest.raises(MediaFetchPermanentError, match="not application/pdf"):
        media_copy_from_url(tenant=tenant, url=f"{file_server}/photo.png", mime="application/pdf")
    settings.MEDIA_MAX_BYTES = 100
    with pytest.raises(MediaFetchPermanentError, match="exceeds"):
        media_copy_from_url(tenant=tenant, url=f"{file_server}/photo.png")


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/missing", MediaFetchPermanentError),
        ("/busy", MediaFetchTransientError),
        ("/stall", MediaFetchTransientError),
    ],
)
def test_failures_say_whether_a_retry_can_help(
    file_server: str, tenant: Tenant, settings: Any, path: str, error: type[Exception]
) -> None:
    settings.MEDIA_FETCH_TIMEOUT_S = 0.5
    with pytest.raises(error):
        media_copy_from_url(tenant=tenant, url=f"{file_server}{path}", mime="image/png")
    assert not Media.objects.exists()


def test_nothing_listening_is_transient_and_other_schemes_are_refused(tenant: Tenant) -> None:
    with pytest.raises(MediaFetchTransientError):
        media_copy_from_url(tenant=tenant, url="http://127.0.0.1:9/x.png", mime="image/png")
    with pytest.raises(MediaFetchPermanentError):
        media_copy_from_url(tenant=tenant, url="file:///etc/passwd", mime="image/png")

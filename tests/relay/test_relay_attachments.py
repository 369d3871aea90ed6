"""Agents' attachments copied by the relay: gateway_url on the published event, retries
that hold the conversation back (and only it), and publication after the retry budget."""

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tenants.models import Tenant
from tests.relay.conftest import Consumer, decoded, outbox_write
from webhooks.models import OutboxMessage
from webhooks.outbox.publisher import outbox_publisher_create
from webhooks.outbox.relay import relay_drain, relay_publish_batch

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(3000)


class FileServer:
    """Genesys' file host: serves PNG at any path, after failing as scripted per path."""

    def __init__(self) -> None:
        self.failures: dict[str, list[int]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                scripted = server.failures.get(self.path) or []
                status = scripted.pop(0) if scripted else 200
                body = PNG if status == 200 else b"no"
                self.send_response(status)
                self.send_header("Content-Type", "image/png" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def count(self, path: str) -> int:
        return self.requests.count(path)


@pytest.fixture
def files() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(autouse=True)
def quick_retries(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_PUBLIC_BASE_URL = "http://testserver"
    settings.OUTBOX_RETRY_BASE_S = 0.05
    settings.OUTBOX_RETRY_MAX_S = 0.05
    settings.OUTBOX_COPY_MAX_ATTEMPTS = 3
    settings.MEDIA_FETCH_TIMEOUT_S = 2.0
    settings.OUTBOX_WAKE_CELERY = False


def agent_image(tenant: Tenant, *, key: str, url: str) -> OutboxMessage:
    """A message.outbound row with one image, as the webhook side writes it."""
    event_id = str(uuid.uuid4())
    document = {
        "specversion": "1.0",
        "id": event_id,
        "source": f"genesys-gateway/{tenant.slug}",
        "type": "message.outbound",
        "time": datetime.now(UTC).isoformat(),
        "subject": key,
        "tenant": tenant.slug,
        "datacontenttype": "application/json",
        "data": {
            "conversation_id": key,
            "text": "here it is",
            "attachments": [
                {
                    "id": "att-1",
                    "media_type": "Image",
                    "url": url,
                    "mime": "image/png",
                    "filename": "shelf.png",
                }
            ],
        },
    }
    return OutboxMessage.objects.create(
        tenant=tenant,
        event_id=event_id,
        event_type="message.outbound",
        ordering_key=key,
        routing_key=f"message.outbound.{tenant.slug}",
        cloud_event=document,
    )


def drain_until(done: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Run relay passes (as the polling relay does) until `done()`."""
    publisher = outbox_publisher_create()
    deadline = time.monotonic() + timeout
    try:
        while not done():
            assert time.monotonic() < deadline, "the relay did not finish in time"
            relay_drain(publisher=publisher)
            time.sleep(0.02)
    finally:
        publisher.close()


def pending() -> bool:
    return not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()


def attachment_of(event: dict[str, Any]) -> dict[str, Any]:
    attachment: dict[str, Any] = event["data"]["attachments"][0]
    return attachment


def test_an_agent_image_is_published_with_a_working_gateway_url(
    tenant: Tenant, files: FileServer, consumer_factory: Callable[..., Consumer]
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.*"])
    row = agent_image(tenant, key="conv-1", url=f"{files.url}/att/shelf.png?sig=secret")
    drain_until(pending)

    (message,) = consumer.collect(unique=1, timeout=5)
    attachment = attachment_of(decoded(message))
    assert attachment["url"] == f"{files.url}/att/shelf.png?sig=secret"  # Genesys' link kept
    assert attachment["gateway_url"].startswith("http://testserver/media/")
    assert "gateway_url_error" not in attachment
    download = Client().get(attachment["gateway_url"].removeprefix("http://testserver"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"] == 'inline; filename="shelf.png"'
    row.refresh_from_db()
    assert row.cloud_event == decoded(message)  # stored as published: a replay is the same
    assert (row.attempts, row.copy_attempts) == (0, 0)


def test_a_copy_failing_past_the_budget_is_published_with_a_null_gateway_url(
    tenant: Tenant, files: FileServer, consumer_factory: Callable[..., Consumer]
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.*"])
    files.failures["/att/a.png"] = [503] * 10
    row = agent_image(tenant, key="conv-1", url=f"{files.url}/att/a.png")
    drain_until(pending)

    (message,) = consumer.collect(unique=1, timeout=5)
    attachment = attachment_of(decoded(message))
    assert attachment["gateway_url"] is None
    assert "gave up after 3 attempts" in attachment["gateway_url_error"]
    assert "503" in attachment["gateway_url_error"]
    assert files.count("/att/a.png") == 3
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.PUBLISHED
    assert row.attempts == 0  # the broker's budget is untouched
    assert row.copy_attempts == 2


def test_a_file_that_cannot_be_copied_is_not_retried(
    tenant: Tenant, files: FileServer, consumer_factory: Callable[..., Consumer]
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.*"])
    files.failures["/att/gone.png"] = [404]
    agent_image(tenant, key="conv-1", url=f"{files.url}/att/gone.png")
    drain_until(pending)

    (message,) = consumer.collect(unique=1, timeout=5)
    attachment = attachment_of(decoded(message))
    assert attachment["gateway_url"] is None
    assert "404" in attachment["gateway_url_error"]
    assert files.count("/att/gone.png") == 1


def test_a_row_waiting_for_its_copy_holds_back_its_conversation_only(
    tenant: Tenant, files: FileServer, consumer_factory: Callable[..., Consumer]
) -> None:
    consumer = consumer_factory(binding_keys=["message.outbound.*"])
    files.failures["/att/slow.png"] = [503, 503]  # the third try works
    image = agent_image(tenant, key="conv-1", url=f"{files.url}/att/slow.png")
    behind = outbox_write(tenant=tenant, keys=["conv-1", "conv-2"], per_key=3, wake=False)

    # The first batch (it claims all seven rows): the copy fails, conv-1 waits; conv-2 is
    # not held up. One batch, not a drain: the 50 ms back-off may expire within a drain
    # on a loaded machine, and the copy would be tried again before the asserts.
    publisher = outbox_publisher_create()
    try:
        assert relay_publish_batch(publisher=publisher).published == 3
    finally:
        publisher.close()
    consumer.collect(unique=3, timeout=5)
    consumer.settle()
    assert [decoded(m)["subject"] for m in consumer.messages] == ["conv-2"] * 3
    image.refresh_from_db()
    assert image.status == OutboxMessage.Status.PENDING
    assert image.copy_attempts == 1
    assert "503" in image.last_error

    drain_until(pending)
    consumer.collect(unique=7, timeout=5)
    conv_1 = [decoded(m) for m in consumer.messages if decoded(m)["subject"] == "conv-1"]
    expected = [image.event_id] + [r.event_id for r in behind if r.ordering_key == "conv-1"]
    assert [event["id"] for event in conv_1] == expected
    assert attachment_of(conv_1[0])["gateway_url"].startswith("http://testserver/media/")
    assert files.count("/att/slow.png") == 3

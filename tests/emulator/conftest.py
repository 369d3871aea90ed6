"""The emulator in-process on a free loopback port, and a tiny receiver playing the gateway."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from emulator.config import Config
from emulator.server import Emulator

WEBHOOK_SECRET = "wa-bridge-test-secret-0123456789"
EVENTS_SECRET = "events-secret-for-tests-0123456789"
INTEGRATION_ID = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"


class Receiver:
    """Records every POST; answers the next scripted status for its path (default 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    statuses = receiver.script.get(self.path) or []
                    status = statuses.pop(0) if statuses else 200
                    receiver.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers.items()),
                            "raw": raw,
                            "json": json.loads(raw),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["path"] == path]

    def wait_for(self, path: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests at {path}, got {len(self.at(path))}")


def signature_ok(secret: str, received: dict[str, Any]) -> bool:
    """The gateway's check: X-Hub-Signature-256 = sha256=base64(HMAC-SHA256(secret, raw body))."""
    digest = hmac.new(secret.encode(), received["raw"], hashlib.sha256).digest()
    expected = "sha256=" + base64.b64encode(digest).decode()
    return hmac.compare_digest(expected, received["headers"].get("X-Hub-Signature-256", ""))


class Genesys:
    """A minimal client for the emulator, as the gateway would call it."""

    def __init__(self, url: str, client_id: str, client_secret: str) -> None:
        self.url = url
        self.client_id = client_id
        self.client_secret = client_secret
        self.session = requests.Session()
        self.token: str | None = None

    def get_token(self, secret: str | None = None) -> requests.Response:
        return self.session.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, secret or self.client_secret),
        )

    def login(self) -> None:
        response = self.get_token()
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.session.request(method, f"{self.url}{path}", headers=headers, **kwargs)

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.post(f"{self.url}/emulator/{path}", json=body or {})
        assert response.status_code < 300, response.text
        return response.json()

    def inspect(self, path: str) -> Any:
        return self.session.get(f"{self.url}/emulator/{path}").json()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.httpd.shutdown()
    receiver.httpd.server_close()


@pytest.fixture
def emulator(receiver: Receiver) -> Iterator[Emulator]:
    config = Config(
        port=0,
        webhook_url=f"{receiver.url}/webhooks/genesys/open-messaging",
        webhook_secret=WEBHOOK_SECRET,
        events_url=f"{receiver.url}/webhooks/genesys/events",
        events_secret=EVENTS_SECRET,
        webhook_timeout=2.0,
        webhook_retry_delay=0.05,
        user_count=300,
    )
    emulator = Emulator(config)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def genesys(emulator: Emulator) -> Genesys:
    client = Genesys(emulator.url, emulator.config.client_id, emulator.config.client_secret)
    client.login()
    return client


def example(name: str) -> dict[str, Any]:
    from tests.conftest import genesys_example

    return genesys_example(name)


def send_text(
    genesys: Genesys, text: str, *, customer: str = "+15550123456", message_id: str | None = None
) -> requests.Response:
    body = example("inbound-text.json")
    body["text"] = text
    body["channel"]["from"]["id"] = customer
    body["channel"]["messageId"] = message_id or f"wamid.{time.monotonic_ns()}"
    return genesys.call(
        "POST",
        f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/message",
        params={"prefetchConversationId": "true"},
        json=body,
    )

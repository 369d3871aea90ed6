"""The whole loop on real services: the gateway on pytest-django's live server (PostgreSQL),
the Genesys emulator in-process calling the gateway's webhooks, the relay in a thread
publishing to RabbitMQ, and a consumer queue bound to the tenant's events.

Nothing is stubbed: every hop is real HTTP or real AMQP.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connections
from pytest_django.live_server_helper import LiveServer

from emulator.config import Config
from emulator.server import Emulator
from tenants import services
from tenants.models import Tenant
from tests.openapi import response_check
from tests.relay.conftest import Consumer, decoded
from webhooks.outbox.daemon import relay_run

SLUG = "e2e-acme"
# Distinct from the emulator's defaults, so a test passing proves they were wired through.
CLIENT_ID = "e2e-client"
CLIENT_SECRET = "e2e-client-secret-0123456789abcdef"
WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef"
EVENTS_SECRET = "e2e-events-secret-0123456789abcdef"
INTEGRATION_ID = "0b6c9a3e-7f21-4d58-9c3a-2e4f6a8b1d70"
ORG_ID = "5d2e8f14-9a3b-4c67-8e21-f0a9b3c4d5e6"


def poll(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Call `condition` until it returns something truthy (returned), or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.02)


@dataclass
class Gateway:
    """The gateway's REST API for one tenant, over real HTTP."""

    url: str
    slug: str
    api_key: str
    session: requests.Session

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """Call the API; the answer must be one the served OpenAPI schema declares."""
        response = self.session.request(
            method,
            f"{self.url}/api/v1/tenants/{self.slug}/{path}",
            headers={"Authorization": f"Bearer {self.api_key}", **(headers or {})},
            timeout=30,
            **kwargs,
        )
        response_check(
            method=method,
            path=urlsplit(response.url).path,
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=response.content,
            headers=dict(response.headers),
        )
        return response


class EmulatorClient:
    """The emulator's control endpoints (and, for inspection, its Genesys API)."""

    def __init__(self, emulator: Emulator) -> None:
        self.url = emulator.url
        self.config = emulator.config
        self.session = requests.Session()

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.post(f"{self.url}/emulator/{path}", json=body or {}, timeout=30)
        assert response.status_code < 300, response.text
        return response.json()

    def inspect(self, path: str, **params: str) -> Any:
        response = self.session.get(f"{self.url}/emulator/{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def requests(self, path_prefix: str = "") -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = self.inspect("requests", path_prefix=path_prefix)[
            "entities"
        ]
        return entities

    def genesys_get(self, path: str) -> Any:
        """A GET on the emulated Genesys API with a token of its own (as another client)."""
        token = self.session.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.config.client_id, self.config.client_secret),
            timeout=10,
        )
        assert token.status_code == 200, token.text
        response = self.session.get(
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()


class Events:
    """A consumer queue bound to '#.<slug>', read with deadlines."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.seen = 0

    def next(self, *, timeout: float = 10.0) -> tuple[Any, dict[str, Any]]:
        """The next message not returned yet: (AMQP message, decoded CloudEvent)."""
        self.consumer.collect(unique=self.seen + 1, timeout=timeout)
        message = self.consumer.messages[self.seen]
        self.seen += 1
        return message, decoded(message)

    def extra(self) -> list[dict[str, Any]]:
        """Whatever arrives beyond what was taken, after the queue has been quiet a moment."""
        self.consumer.settle(quiet=0.3)
        return [decoded(m) for m in self.consumer.messages[self.seen :]]


@pytest.fixture
def emulator(live_server: LiveServer) -> Iterator[Emulator]:
    emulator = Emulator(
        Config(
            port=0,
            gateway_url=live_server.url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            integration_id=INTEGRATION_ID,
            webhook_secret=WEBHOOK_SECRET,
            events_secret=EVENTS_SECRET,
            org_id=ORG_ID,
            webhook_timeout=5.0,
            webhook_retry_delay=0.05,
        )
    )
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emulator_client(emulator: Emulator) -> EmulatorClient:
    return EmulatorClient(emulator)


@pytest.fixture
def e2e_tenant(emulator: Emulator, settings: Any) -> Tenant:
    """The tenant wired to the emulator exactly as an operator would with `manage.py tenant`."""
    # The polling relay below publishes; no Celery worker runs, so no wake-up tasks.
    settings.OUTBOX_WAKE_CELERY = False
    tenant = services.tenant_create(
        slug=SLUG,
        name="E2E Acme",
        region="custom",
        api_base_url=emulator.url,
        login_base_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    services.integration_add(tenant=tenant, integration_id=INTEGRATION_ID, secret=WEBHOOK_SECRET)
    services.tenant_set_events_secret(tenant=tenant, secret=EVENTS_SECRET)
    return tenant


@pytest.fixture
def gateway(live_server: LiveServer, e2e_tenant: Tenant) -> Iterator[Gateway]:
    _, raw_key = services.api_key_create(tenant=e2e_tenant, name="e2e")
    session = requests.Session()
    yield Gateway(url=live_server.url, slug=e2e_tenant.slug, api_key=raw_key, session=session)
    session.close()


@pytest.fixture
def events(e2e_tenant: Tenant) -> Iterator[Events]:
    """An exclusive queue on the real broker bound to every event of the tenant."""
    consumer = Consumer(binding_keys=[f"#.{e2e_tenant.slug}"])
    yield Events(consumer)
    with contextlib.suppress(Exception):
        consumer.close()


@pytest.fixture
def relay(events: Events) -> Iterator[threading.Thread]:
    """`relay_run` in a thread, polling fast; stopped and joined at teardown.

    Depends on `events` so the queue is bound before anything can be published.
    """
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            relay_run(stop=stop, poll_interval=0.05)
        except BaseException as exc:  # surfaced at teardown
            failure.append(exc)
        finally:
            connections.close_all()  # this thread's connections, or the flush would wait

    thread = threading.Thread(target=run, name="e2e-relay", daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive(), "the relay did not stop"
    assert not failure, f"the relay failed: {failure[0]!r}"

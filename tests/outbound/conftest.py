"""Genesys stubbed with `responses` (the only thing stubbed), a fake clock for waits."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from django.db import connection

from tenants.models import Tenant

API = "https://api.genesys.test"
LOGIN = "https://login.genesys.test"
TOKEN_URL = f"{LOGIN}/oauth/token"
INTEGRATION_ID = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"
CONVERSATION_ID = "3e8d5a71-c2b4-4f69-8e1a-5b7c0d9f2e34"
INBOUND_URL = f"{API}/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/message"


class FakeClock:
    """monotonic() and sleep() for the client: sleeping only moves the clock on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def genesys() -> Iterator[responses.RequestsMock]:
    """Genesys Cloud: every HTTP request must match a registered response."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def token_endpoint(genesys: responses.RequestsMock) -> Any:
    """The tenant's OAuth token endpoint, handing out tok-1, tok-2, ... in turn."""
    issued = {"n": 0}
    lock = threading.Lock()

    def issue(request: Any) -> tuple[int, dict[str, str], str]:
        with lock:
            issued["n"] += 1
            number = issued["n"]
        return (
            200,
            {},
            f'{{"access_token": "tok-{number}", "token_type": "bearer", "expires_in": 86399}}',
        )

    return genesys.add_callback(
        responses.POST, TOKEN_URL, callback=issue, content_type="application/json"
    )


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in `count` threads released together; each closes its DB connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json", response.content
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def second_tenant(tenant_factory: Callable[..., Tenant]) -> Tenant:
    return tenant_factory(slug="globex", name="Globex")

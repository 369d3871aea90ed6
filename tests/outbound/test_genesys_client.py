"""The Genesys client: retries, Retry-After, budget, token refresh, metrics.

Waits are measured on a fake clock handed to the client, never on the wall clock.
"""

from typing import Any

import pytest
import requests
import responses
from prometheus_client import REGISTRY

from outbound.errors import genesys_problem
from outbound.genesys import (
    GenesysAuthError,
    GenesysBadAnswerError,
    GenesysClient,
    GenesysRateLimitedError,
    GenesysTimeoutError,
    GenesysTransientError,
)
from outbound.services.access import genesys_client
from tenants.models import Tenant
from tests.outbound.conftest import API, CONVERSATION_ID, INBOUND_URL, INTEGRATION_ID, FakeClock

ORG_URL = f"{API}/api/v2/organizations/me"
ORG = {"id": "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45", "name": "Acme Corp"}


@pytest.fixture(autouse=True)
def _backoff(settings: Any) -> None:
    settings.GENESYS_BACKOFF_BASE_S = 1.0
    settings.GENESYS_BACKOFF_MAX_S = 1.5


def client_for(tenant: Tenant, clock: FakeClock) -> GenesysClient:
    return genesys_client(tenant=tenant, sleep=clock.sleep, monotonic=clock.monotonic)


def test_429_then_success_waits_exactly_retry_after(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    genesys.get(ORG_URL, status=429, headers={"Retry-After": "3"}, json={"code": "too.many"})
    genesys.get(ORG_URL, json=ORG)
    assert client_for(tenant, clock).get_organization() == ORG
    assert len(clock.sleeps) == 1
    assert 3.0 <= clock.sleeps[0] <= 3.25  # Retry-After plus at most 250 ms of jitter


def test_5xx_on_a_read_is_retried_with_capped_jittered_backoff(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    for status in (503, 502, 504):
        genesys.get(ORG_URL, status=status, json={})
    genesys.get(ORG_URL, json=ORG)
    assert client_for(tenant, clock).get_organization() == ORG
    first, second, third = clock.sleeps
    assert 0.5 <= first <= 1.0  # base 1 s: half of it plus up to the other half
    assert 0.75 <= second <= 1.5  # 2 s capped at 1.5 s
    assert 0.75 <= third <= 1.5


def test_retries_stop_at_the_attempt_cap_with_a_retry_after(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    failing = genesys.get(ORG_URL, status=503, json={"contextId": "ctx-503"})
    with pytest.raises(GenesysTransientError) as caught:
        client_for(tenant, clock).get_organization()
    assert failing.call_count == 4
    assert genesys_problem(caught.value).status == 503
    assert caught.value.context_id == "ctx-503"
    assert int(genesys_problem(caught.value).headers["Retry-After"]) >= 1


def test_a_retry_after_beyond_the_budget_is_not_waited_for(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    throttled = genesys.get(ORG_URL, status=429, headers={"Retry-After": "120"}, json={})
    with pytest.raises(GenesysRateLimitedError) as caught:
        client_for(tenant, clock).get_organization()
    assert throttled.call_count == 1
    assert clock.sleeps == []
    assert genesys_problem(caught.value).headers["Retry-After"] == "120"


def test_the_budget_bounds_the_total_wait(
    tenant: Tenant,
    genesys: responses.RequestsMock,
    token_endpoint: object,
    clock: FakeClock,
    settings: Any,
) -> None:
    settings.GENESYS_RETRY_BUDGET_S = 5.0
    settings.GENESYS_MAX_ATTEMPTS = 100
    throttled = genesys.get(ORG_URL, status=429, headers={"Retry-After": "2"}, json={})
    with pytest.raises(GenesysRateLimitedError):
        client_for(tenant, clock).get_organization()
    assert sum(clock.sleeps) <= 5.0
    assert throttled.call_count == 3  # at 0, ~2 and ~4 s; a fourth would end past 5 s


def test_an_unsafe_request_is_not_repeated_after_a_5xx(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    url = f"{API}/api/v2/conversations/messages/{CONVERSATION_ID}"
    failing = genesys.patch(url, status=503, json={})
    with pytest.raises(GenesysTransientError):
        client_for(tenant, clock).disconnect_message_conversation(conversation_id=CONVERSATION_ID)
    assert failing.call_count == 1


def test_an_unsafe_request_is_repeated_after_a_429(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    url = f"{API}/api/v2/conversations/messages/{CONVERSATION_ID}"
    genesys.patch(url, status=429, headers={"Retry-After": "1"}, json={})
    genesys.patch(url, json={"id": CONVERSATION_ID})
    client_for(tenant, clock).disconnect_message_conversation(conversation_id=CONVERSATION_ID)
    assert len(clock.sleeps) == 1


def test_timeouts_on_a_read_are_retried_then_become_a_timeout_error(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    hanging = genesys.get(ORG_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(GenesysTimeoutError) as caught:
        client_for(tenant, clock).get_organization()
    assert hanging.call_count == 4
    assert genesys_problem(caught.value).status == 504


def test_an_inbound_message_is_repeated_after_a_connection_error(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    genesys.post(INBOUND_URL, body=requests.exceptions.ConnectionError("reset"))
    genesys.post(INBOUND_URL, json={"id": "g-1"})
    body = {"channel": {"messageId": "wamid.1"}, "text": "hi"}
    answer = client_for(tenant, clock).send_inbound_message(
        integration_id=INTEGRATION_ID, message=body
    )
    assert answer == {"id": "g-1"}
    inbound = [c for c in genesys.calls if c.request.url.startswith(INBOUND_URL)]
    assert len(inbound) == 2
    assert inbound[0].request.body == inbound[1].request.body  # same messageId: de-duplicated


def test_a_401_refreshes_the_token_once_and_retries(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    genesys.get(ORG_URL, status=401, json={"code": "bad.credentials"})
    genesys.get(ORG_URL, json=ORG)
    assert client_for(tenant, clock).get_organization() == ORG
    assert token_endpoint.call_count == 2
    api_calls = [c for c in genesys.calls if c.request.url == ORG_URL]
    assert [c.request.headers["Authorization"] for c in api_calls] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_a_second_401_is_an_auth_failure(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    rejected = genesys.get(ORG_URL, status=401, json={"contextId": "ctx-401"})
    with pytest.raises(GenesysAuthError) as caught:
        client_for(tenant, clock).get_organization()
    assert rejected.call_count == 2
    assert token_endpoint.call_count == 2
    assert (
        genesys_problem(caught.value).status == 502
        and genesys_problem(caught.value).slug == "genesys-auth-failed"
    )


def test_a_403_refreshes_the_token_once_then_is_final(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    forbidden = genesys.get(ORG_URL, status=403, json={"code": "missing.permissions"})
    with pytest.raises(GenesysAuthError):
        client_for(tenant, clock).get_organization()
    assert forbidden.call_count == 2
    assert token_endpoint.call_count == 2


def test_a_403_cured_by_a_fresh_token_succeeds(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    genesys.get(ORG_URL, status=403, json={"code": "missing.permissions"})
    genesys.get(ORG_URL, json=ORG)
    assert client_for(tenant, clock).get_organization() == ORG
    assert token_endpoint.call_count == 2


def test_calls_are_counted_by_templated_endpoint_and_status(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    genesys.get(f"{API}/api/v2/conversations/{CONVERSATION_ID}", json={"id": CONVERSATION_ID})
    labels = {
        "endpoint": "/api/v2/conversations/{conversationId}",
        "method": "GET",
        "status": "200",
    }
    before = REGISTRY.get_sample_value("gateway_genesys_requests_total", labels) or 0
    client_for(tenant, clock).get_conversation(conversation_id=CONVERSATION_ID)
    assert REGISTRY.get_sample_value("gateway_genesys_requests_total", labels) == before + 1
    count = REGISTRY.get_sample_value("gateway_genesys_request_duration_seconds_count", labels)
    assert count and count >= 1
    exposed = {
        sample.labels.get("endpoint", "")
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name.startswith("gateway_genesys_")
    }
    assert not any(CONVERSATION_ID in endpoint for endpoint in exposed)


def test_an_unsafe_request_is_not_repeated_after_a_broken_transfer(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    url = f"{API}/api/v2/conversations/messages/{CONVERSATION_ID}"
    broken = genesys.patch(url, body=requests.exceptions.ChunkedEncodingError("cut off"))
    with pytest.raises(GenesysBadAnswerError):
        client_for(tenant, clock).disconnect_message_conversation(conversation_id=CONVERSATION_ID)
    assert broken.call_count == 1
    assert clock.sleeps == []


def test_broken_transfers_are_counted_as_such(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: object, clock: FakeClock
) -> None:
    genesys.get(ORG_URL, body=requests.exceptions.ChunkedEncodingError("cut off"))
    genesys.get(ORG_URL, json=ORG)
    labels = {"endpoint": "/api/v2/organizations/me", "method": "GET", "status": "broken_answer"}
    before = REGISTRY.get_sample_value("gateway_genesys_requests_total", labels) or 0
    assert client_for(tenant, clock).get_organization() == ORG
    assert REGISTRY.get_sample_value("gateway_genesys_requests_total", labels) == before + 1

"""The shared token cache and the per-tenant rate limiter, both in PostgreSQL."""

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from outbound.errors import genesys_problem
from outbound.genesys import (
    GenesysRateLimitedError,
    genesys_token_get,
    rate_limit_acquire,
    ratelimit,
)
from outbound.models import GenesysRateLimit, GenesysToken
from outbound.services import tenant_verify
from outbound.services.access import genesys_client
from tenants import crypto
from tenants.models import Tenant
from tests.outbound.conftest import API, TOKEN_URL, FakeClock, run_in_threads

ORG_URL = f"{API}/api/v2/organizations/me"
ORG = {"id": "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45", "name": "Acme Corp"}


def test_many_calls_share_one_token(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    organization = genesys.get(ORG_URL, json=ORG)
    for _ in range(10):
        genesys_client(tenant=tenant).get_organization()
    assert token_endpoint.call_count == 1
    assert {c.request.headers["Authorization"] for c in organization.calls} == {"Bearer tok-1"}
    token_request = token_endpoint.calls[0].request
    assert token_request.body == "grant_type=client_credentials"
    assert token_request.headers["Authorization"].startswith("Basic ")


def test_the_token_is_encrypted_at_rest(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    assert genesys_token_get(tenant=tenant) == "tok-1"
    row = GenesysToken.objects.get(tenant=tenant)
    assert "tok-1" not in row.access_token_encrypted
    assert crypto.decrypt(row.access_token_encrypted) == "tok-1"
    assert row.expires_at is not None
    assert row.expires_at - timezone.now() > timedelta(seconds=86000)


def test_the_token_is_refreshed_a_minute_before_it_expires(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any, settings: Any
) -> None:
    # The expiry is moved in the shared row, not by waiting: only the row may decide here,
    # so the process cache (which never outlives the refresh time either) is off.
    settings.API_CACHE_TTL_S = 0
    assert genesys_token_get(tenant=tenant) == "tok-1"
    GenesysToken.objects.filter(tenant=tenant).update(
        expires_at=timezone.now() + timedelta(seconds=120)
    )
    assert genesys_token_get(tenant=tenant) == "tok-1"  # two minutes left: still used
    GenesysToken.objects.filter(tenant=tenant).update(
        expires_at=timezone.now() + timedelta(seconds=30)
    )
    assert genesys_token_get(tenant=tenant) == "tok-2"  # inside the 60 s margin: replaced
    assert token_endpoint.call_count == 2


def test_tokens_are_per_tenant(
    tenant: Tenant, second_tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    assert genesys_token_get(tenant=tenant) == "tok-1"
    assert genesys_token_get(tenant=second_tenant) == "tok-2"
    credentials = [c.request.headers["Authorization"] for c in token_endpoint.calls]
    assert credentials[0] != credentials[1]


def test_a_rejected_token_is_replaced_only_once(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    assert genesys_token_get(tenant=tenant) == "tok-1"
    assert genesys_token_get(tenant=tenant, rejected="tok-1") == "tok-2"
    # A second worker that saw tok-1 rejected finds tok-2 already there.
    assert genesys_token_get(tenant=tenant, rejected="tok-1") == "tok-2"
    assert token_endpoint.call_count == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_make_one_token_request(
    tenant: Tenant, genesys: responses.RequestsMock
) -> None:
    def slow_token(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.3)  # long enough for every thread to find the cache empty
        return 200, {}, '{"access_token": "tok-shared", "expires_in": 3600}'

    token_call = genesys.add_callback(
        "POST", TOKEN_URL, callback=slow_token, content_type="application/json"
    )
    results = run_in_threads(12, lambda _: genesys_token_get(tenant=tenant))
    assert results == ["tok-shared"] * 12
    assert token_call.call_count == 1
    assert GenesysToken.objects.get(tenant=tenant).fetch_count == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_api_calls_make_one_token_request(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    organization = genesys.get(ORG_URL, json=ORG)
    results = run_in_threads(10, lambda _: genesys_client(tenant=tenant).get_organization())
    assert results == [ORG] * 10
    assert organization.call_count == 10
    assert token_endpoint.call_count == 1


def test_verify_bypasses_the_token_cache(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    assert genesys_token_get(tenant=tenant) == "tok-1"
    organization = genesys.get(ORG_URL, json=ORG)
    tenant_verify(tenant=tenant)
    assert token_endpoint.call_count == 2
    assert organization.calls[0].request.headers["Authorization"] == "Bearer tok-2"
    # The cache keeps its own token; verify's fresh one was for proving the secret.
    assert crypto.decrypt(GenesysToken.objects.get(tenant=tenant).access_token_encrypted) == "tok-1"


@pytest.fixture
def one_per_second(settings: Any) -> None:
    settings.GENESYS_RATE_LIMIT_PER_MINUTE = 60
    settings.GENESYS_RATE_LIMIT_HEADROOM_PERCENT = 0
    settings.GENESYS_RATE_LIMIT_BURST = 2


def test_the_limiter_lets_a_burst_through_then_spaces_calls(
    tenant: Tenant, one_per_second: None
) -> None:
    waits = [rate_limit_acquire(tenant=tenant, max_wait_s=10) for _ in range(5)]
    assert waits[:2] == [0, 0]
    for expected, wait in zip([1, 2, 3], waits[2:], strict=True):
        assert expected - 0.2 <= wait <= expected  # reserved slots, one second apart
    row = GenesysRateLimit.objects.get(tenant=tenant)
    assert row.delayed_count == 3
    assert row.tokens < -2


def test_the_limiter_refuses_a_wait_longer_than_allowed(
    tenant: Tenant, one_per_second: None
) -> None:
    for _ in range(3):
        rate_limit_acquire(tenant=tenant, max_wait_s=1.5)
    with pytest.raises(GenesysRateLimitedError) as caught:
        rate_limit_acquire(tenant=tenant, max_wait_s=1.5)
    assert genesys_problem(caught.value).status == 503
    assert genesys_problem(caught.value).headers["Retry-After"] == "2"
    assert GenesysRateLimit.objects.get(tenant=tenant).rejected_count == 1


def test_a_statement_that_waited_for_the_bucket_never_sets_it_back_in_time(
    tenant: Tenant, one_per_second: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    # Another process has just taken the last token.
    GenesysRateLimit.objects.create(tenant=tenant, tokens=0, updated_at=now)
    # This one took its time half a second earlier, then waited for the row's lock.
    monkeypatch.setattr(ratelimit.timezone, "now", lambda: now - timedelta(seconds=0.5))
    assert rate_limit_acquire(tenant=tenant, max_wait_s=10) == pytest.approx(1.0)
    monkeypatch.undo()
    row = GenesysRateLimit.objects.get(tenant=tenant)
    # Set back to its own time, the bucket would refill that half second a second time.
    assert row.updated_at == now
    assert row.tokens == pytest.approx(-1.0)


def test_the_limiter_is_per_tenant(
    tenant: Tenant, second_tenant: Tenant, one_per_second: None
) -> None:
    for _ in range(2):
        assert rate_limit_acquire(tenant=tenant, max_wait_s=0) == 0
    assert rate_limit_acquire(tenant=second_tenant, max_wait_s=0) == 0


def test_the_client_waits_for_the_limiter_on_its_clock(
    tenant: Tenant,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    clock: FakeClock,
    one_per_second: None,
) -> None:
    genesys.get(ORG_URL, json=ORG)
    client = genesys_client(tenant=tenant, sleep=clock.sleep, monotonic=clock.monotonic)
    for _ in range(4):
        client.get_organization()
    assert len(clock.sleeps) == 2
    assert 0.8 <= clock.sleeps[0] <= 1.0 and 1.8 <= clock.sleeps[1] <= 2.0


def test_an_api_call_over_the_limit_answers_503_without_calling_genesys(
    tenant: Tenant,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    authed_client: Client,
    settings: Any,
) -> None:
    settings.GENESYS_RATE_LIMIT_PER_MINUTE = 1
    settings.GENESYS_RATE_LIMIT_HEADROOM_PERCENT = 0
    settings.GENESYS_RATE_LIMIT_BURST = 1
    organization = genesys.get(ORG_URL, json=ORG)
    assert authed_client.get("/api/v1/tenants/acme/organization").status_code == 200
    response = authed_client.get("/api/v1/tenants/acme/organization")
    assert response.status_code == 503
    assert response.json()["type"].endswith("/genesys-rate-limited")
    assert 55 <= int(response["Retry-After"]) <= 60
    assert organization.call_count == 1


def test_admin_shows_the_rate_limit_state(
    tenant: Tenant, admin_client: Client, one_per_second: None
) -> None:
    rate_limit_acquire(tenant=tenant, max_wait_s=1)
    page = admin_client.get("/admin/outbound/genesysratelimit/")
    assert page.status_code == 200
    assert b"acme" in page.content
    detail = admin_client.get(f"/admin/outbound/genesysratelimit/{tenant.pk}/change/")
    assert detail.status_code == 200
    assert b"sustained rate" in detail.content.lower()
    assert admin_client.get("/admin/outbound/genesystoken/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_token_refresh_waits_for_the_row_lock_at_most_the_lock_timeout(
    tenant: Tenant,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    authed_client: Client,
    settings: Any,
) -> None:
    settings.GENESYS_TOKEN_LOCK_TIMEOUT_S = 0.2
    GenesysToken.objects.create(tenant=tenant)  # no token yet: the call must refresh
    organization = genesys.get(ORG_URL, json=ORG)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        # Another process stuck in its token request, on its own connection.
        try:
            with transaction.atomic():
                GenesysToken.objects.select_for_update().get(tenant=tenant)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(30)
        response = authed_client.get("/api/v1/tenants/acme/organization")
    finally:
        release.set()
        holder.join()

    assert response.status_code == 503
    assert response.json()["type"].endswith("/genesys-unavailable")
    assert response["Retry-After"] == str(settings.GENESYS_DEFAULT_RETRY_AFTER_S)
    assert token_endpoint.call_count == 0 and organization.call_count == 0
    # The lock is gone: the next call refreshes, and the bound did not leak into the
    # connection's later statements.
    assert authed_client.get("/api/v1/tenants/acme/organization").status_code == 200
    assert token_endpoint.call_count == 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_the_lock_timeout_is_local_to_the_refresh(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any, settings: Any
) -> None:
    settings.GENESYS_TOKEN_LOCK_TIMEOUT_S = 0.2
    with transaction.atomic():  # a caller's own transaction around the refresh
        assert genesys_token_get(tenant=tenant) == "tok-1"
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "0"

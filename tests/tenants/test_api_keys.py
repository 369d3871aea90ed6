from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient

from outbound.views import TenantApi
from tenants import services
from tenants.models import ApiKey, Tenant


class WhoAmIApi(TenantApi):
    def get(self, request: Request, slug: str) -> Response:
        return Response({"tenant": request.tenant.slug})  # type: ignore[attr-defined]


urlpatterns = [path("api/v1/tenants/<slug:slug>/whoami", WhoAmIApi.as_view())]


@pytest.fixture(autouse=True)
def _whoami_urls(settings) -> None:
    settings.ROOT_URLCONF = __name__


def _get(client: APIClient, slug: str, key: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.get(f"/api/v1/tenants/{slug}/whoami", **headers)


def test_key_is_random_and_stored_only_as_hash(tenant: Tenant) -> None:
    api_key, raw_key = services.api_key_create(tenant=tenant)
    _, other_raw = services.api_key_create(tenant=tenant)
    assert raw_key != other_raw
    assert len(raw_key) >= len("gwk_") + 43  # 32 random bytes, base64url
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw_key not in (stored.key_hash, stored.prefix, stored.name)
    assert len(stored.key_hash) == 64


def test_key_authenticates_its_own_tenant(
    api_client: APIClient, tenant: Tenant, api_key: str
) -> None:
    response = _get(api_client, tenant.slug, api_key)
    assert response.status_code == 200
    assert response.json() == {"tenant": tenant.slug}


def test_key_of_another_tenant_gets_the_unknown_slug_answer(
    api_client: APIClient, tenant_factory: Callable[..., Tenant], tenant: Tenant, api_key: str
) -> None:
    other = tenant_factory(slug="globex")
    foreign = _get(api_client, other.slug, api_key)
    unknown = _get(api_client, "no-such-tenant", api_key)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    assert foreign["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("key", [None, "gwk_wrong", "not-even-our-format", "gwk_" + "x" * 300])
def test_missing_or_invalid_key_is_401_problem(api_client: APIClient, tenant: Tenant, key) -> None:
    response = _get(api_client, tenant.slug, key)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["type"].endswith("/not-authenticated")
    assert response["Content-Type"] == "application/problem+json"


def test_revoked_key_stops_working(api_client: APIClient, tenant: Tenant) -> None:
    api_key, raw_key = services.api_key_create(tenant=tenant)
    assert _get(api_client, tenant.slug, raw_key).status_code == 200
    services.api_key_revoke(api_key=api_key)
    assert _get(api_client, tenant.slug, raw_key).status_code == 401


def test_key_of_inactive_tenant_is_rejected(
    api_client: APIClient, tenant: Tenant, api_key: str
) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)
    assert _get(api_client, tenant.slug, api_key).status_code == 401


@override_settings(API_KEY_LAST_USED_RESOLUTION_S=60)
def test_last_used_at_is_written_at_most_once_a_minute(tenant: Tenant) -> None:
    api_key, raw_key = services.api_key_create(tenant=tenant)
    services.api_key_authenticate(raw_key=raw_key)
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None

    services.api_key_authenticate(raw_key=raw_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first

    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first - timedelta(seconds=61))
    services.api_key_authenticate(raw_key=raw_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first - timedelta(seconds=1)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at <= timezone.now()

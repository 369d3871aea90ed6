import json

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client

from tenants import services
from tenants.models import ApiKey, Integration, Tenant
from tenants.services import api_key_authenticate
from tests.conftest import DEFAULT_SECRET, WEBHOOK_SECRET


@pytest.fixture
def admin_client(db: None) -> Client:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.login(username="admin", password="pw")
    return client


def test_admin_pages_never_show_stored_secrets(
    admin_client: Client, tenant: Tenant, integration: Integration
) -> None:
    for url in ["/admin/tenants/tenant/", f"/admin/tenants/tenant/{tenant.pk}/change/"]:
        response = admin_client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert DEFAULT_SECRET not in page
        assert WEBHOOK_SECRET not in page
        assert tenant.client_secret_encrypted not in page


def test_admin_creates_a_tenant_with_an_encrypted_secret(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/tenants/tenant/add/",
        {
            "slug": "initech",
            "name": "Initech",
            "region": "mypurecloud.de",
            "client_id": "cid",
            "new_client_secret": "admin-set-secret",
            "new_events_secret": "",
            "is_active": "on",
            "integrations-TOTAL_FORMS": "1",
            "integrations-INITIAL_FORMS": "0",
            "integrations-0-integration_id": "int-1",
            "integrations-0-name": "main",
            "integrations-0-new_secret": "integration-secret-1234",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.genesys_credentials().client_secret == "admin-set-secret"
    assert tenant.integrations.get().webhook_secrets() == ["integration-secret-1234"]


def test_admin_requires_a_secret_for_a_new_tenant(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/tenants/tenant/add/",
        {
            "slug": "nosecret",
            "name": "N",
            "region": "mypurecloud.de",
            "client_id": "cid",
            "integrations-TOTAL_FORMS": "0",
            "integrations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "client_secret is required" in response.content.decode()
    assert not Tenant.objects.filter(slug="nosecret").exists()


def test_admin_shows_a_new_api_key_once(admin_client: Client, tenant: Tenant) -> None:
    response = admin_client.post(
        "/admin/tenants/apikey/add/", {"tenant": tenant.pk, "name": "waba"}, follow=True
    )
    page = response.content.decode()
    marker = "shown only now: "
    assert marker in page
    raw_key = page.split(marker, 1)[1].split("<", 1)[0].strip()
    api_key = api_key_authenticate(raw_key=raw_key)
    assert api_key is not None and api_key.tenant == tenant
    assert ApiKey.objects.count() == 1
    again = admin_client.get("/admin/tenants/apikey/").content.decode()
    assert raw_key not in again


def test_a_new_api_key_is_never_stored_in_the_session_or_a_cookie(
    admin_client: Client, tenant: Tenant
) -> None:
    response = admin_client.post("/admin/tenants/apikey/add/", {"tenant": tenant.pk, "name": "w"})
    assert response.status_code == 200
    page = response.content.decode()
    raw_key = page.split("shown only now: ", 1)[1].split("<", 1)[0].strip()
    assert api_key_authenticate(raw_key=raw_key) is not None
    assert "no-store" in response["Cache-Control"]  # admin views are never cached
    # Messages would wait for the next page in a cookie or the session: neither holds it.
    assert not response.cookies.get("messages") or not response.cookies["messages"].value
    for session in Session.objects.all():
        assert raw_key not in json.dumps(session.get_decoded())
    next_page = admin_client.get("/admin/tenants/apikey/").content.decode()
    assert raw_key not in next_page


@pytest.mark.parametrize("field", ["api_base_url", "login_base_url"])
def test_admin_accepts_only_http_base_urls(admin_client: Client, field: str) -> None:
    urls = {"api_base_url": "https://api.example.test", "login_base_url": "https://l.example.test"}
    urls[field] = "ftp://files.example.test"
    response = admin_client.post(
        "/admin/tenants/tenant/add/",
        {
            "slug": "ftp",
            "name": "F",
            "region": "custom",
            **urls,
            "client_id": "cid",
            "new_client_secret": "s",
            "is_active": "on",
            "integrations-TOTAL_FORMS": "0",
            "integrations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert f"{field} &#x27;ftp://files.example.test&#x27; is not an http(s) URL" in (
        response.content.decode()
    )
    assert not Tenant.objects.filter(slug="ftp").exists()


def test_changing_a_tenant_to_an_ftp_url_is_refused(admin_client: Client, tenant: Tenant) -> None:
    response = admin_client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        {
            "slug": tenant.slug,
            "name": tenant.name,
            "region": "custom",
            "api_base_url": "ftp://files.example.test",
            "login_base_url": tenant.login_base_url,
            "client_id": tenant.client_id,
            "is_active": "on",
            "integrations-TOTAL_FORMS": "0",
            "integrations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "is not an http(s) URL" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.api_base_url == "https://api.genesys.test"
    with pytest.raises(ValidationError, match="not an http"):
        tenant.api_base_url = "ftp://files.example.test"
        services.tenant_save(tenant=tenant)


def test_admin_rotates_an_integration_secret_keeping_the_previous_one(
    admin_client: Client, tenant: Tenant, integration: Integration
) -> None:
    response = admin_client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        {
            "slug": tenant.slug,
            "name": tenant.name,
            "region": tenant.region,
            "api_base_url": tenant.api_base_url,
            "login_base_url": tenant.login_base_url,
            "client_id": tenant.client_id,
            "is_active": "on",
            "integrations-TOTAL_FORMS": "1",
            "integrations-INITIAL_FORMS": "1",
            "integrations-0-id": integration.pk,
            "integrations-0-tenant": tenant.pk,
            "integrations-0-integration_id": integration.integration_id,
            "integrations-0-name": "renamed",
            "integrations-0-new_secret": "rotated-secret-0123456789",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.name == "renamed"
    assert integration.webhook_secrets() == ["rotated-secret-0123456789", WEBHOOK_SECRET]
    tenant.refresh_from_db()
    assert tenant.genesys_credentials().client_secret == DEFAULT_SECRET  # empty: kept

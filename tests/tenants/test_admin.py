import pytest
from django.contrib.auth.models import User
from django.test import Client

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

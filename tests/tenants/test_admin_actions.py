"""Admin actions that change data run only for staff allowed to change the rows."""

from collections.abc import Callable

from django.test import Client

from tenants.models import ApiKey, Tenant
from tenants.services import api_key_authenticate, api_key_create


def revoke(client: Client, api_key: ApiKey) -> None:
    response = client.post(
        "/admin/tenants/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]}
    )
    assert response.status_code in (200, 302)


def test_staff_with_view_permission_only_cannot_revoke_keys(
    staff_client_factory: Callable[..., Client], tenant: Tenant
) -> None:
    api_key, raw_key = api_key_create(tenant=tenant, name="waba")
    viewer = staff_client_factory("view_apikey")
    assert viewer.get("/admin/tenants/apikey/").status_code == 200

    revoke(viewer, api_key)

    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert api_key_authenticate(raw_key=raw_key) is not None


def test_staff_with_change_permission_revokes_keys(
    staff_client_factory: Callable[..., Client], tenant: Tenant
) -> None:
    api_key, raw_key = api_key_create(tenant=tenant, name="waba")
    other, _ = api_key_create(tenant=tenant, name="other")

    revoke(staff_client_factory("view_apikey", "change_apikey"), api_key)

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key_authenticate(raw_key=raw_key) is None
    other.refresh_from_db()
    assert other.revoked_at is None

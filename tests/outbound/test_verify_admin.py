"""The tenant admin's "verify" action: added by outbound/, run only with change permission."""

from collections.abc import Callable

import responses
from django.test import Client

from tenants.models import Tenant

ORGANIZATION_ID = "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45"


def genesys_answers() -> tuple[responses.BaseResponse, responses.BaseResponse]:
    token = responses.post(
        "https://login.genesys.test/oauth/token",
        json={"access_token": "tok-1", "token_type": "bearer", "expires_in": 86399},
    )
    organization = responses.get(
        "https://api.genesys.test/api/v2/organizations/me",
        json={"id": ORGANIZATION_ID, "name": "Acme Corp"},
    )
    return token, organization


def verify(client: Client, tenant: Tenant) -> str:
    response = client.post(
        "/admin/tenants/tenant/",
        {"action": "verify_credentials", "_selected_action": [tenant.pk]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


@responses.activate
def test_staff_with_view_permission_only_cannot_verify(
    staff_client_factory: Callable[..., Client], tenant: Tenant
) -> None:
    token, organization = genesys_answers()
    viewer = staff_client_factory("view_tenant")

    page = verify(viewer, tenant)

    assert ": verified, organization" not in page
    assert token.call_count == 0 and organization.call_count == 0
    tenant.refresh_from_db()
    assert tenant.organization_id == "" and tenant.verified_at is None


@responses.activate
def test_staff_with_change_permission_verifies(
    staff_client_factory: Callable[..., Client], tenant: Tenant
) -> None:
    token, organization = genesys_answers()
    editor = staff_client_factory("view_tenant", "change_tenant")

    page = verify(editor, tenant)

    assert f"Acme: verified, organization {ORGANIZATION_ID}" in page  # capitalised by Django
    assert token.call_count == 1 and organization.call_count == 1
    tenant.refresh_from_db()
    assert tenant.organization_id == ORGANIZATION_ID and tenant.verified_at is not None

"""`tenant verify`: prove a tenant's Genesys credentials work, bypassing every cache."""

from typing import Any

from django.utils import timezone

from outbound.genesys import GenesysClient, GenesysError, fetch_token
from tenants.models import Tenant


class TenantVerificationFailed(Exception):
    """The tenant's credentials or organisation could not be confirmed; message says why."""


def tenant_verify(*, tenant: Tenant) -> dict[str, Any]:
    """Fetch a fresh token (no cache) and the organisation; record the organisation id."""
    credentials = tenant.genesys_credentials()
    try:
        fetched = fetch_token(
            login_base_url=credentials.login_base_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
        )
    except GenesysError as exc:
        raise TenantVerificationFailed(
            f"token request to {credentials.login_base_url} failed: {_describe(exc)}"
        ) from None
    # The fresh token, not the shared cache: verify must prove the stored secret works.
    client = GenesysClient(base_url=credentials.api_base_url, token=fetched.access_token)
    try:
        organization = client.get_organization()
    except GenesysError as exc:
        raise TenantVerificationFailed(
            f"organization request to {credentials.api_base_url} failed: {_describe(exc)}"
        ) from None
    organization_id = organization.get("id") if isinstance(organization, dict) else None
    if not organization_id:
        raise TenantVerificationFailed("organization response has no id")
    tenant.organization_id = str(organization_id)
    tenant.verified_at = timezone.now()
    tenant.save(update_fields=["organization_id", "verified_at", "updated_at"])
    return organization


def _describe(exc: GenesysError) -> str:
    parts = [f"HTTP {exc.genesys_status}" if exc.genesys_status else "no response", exc.message]
    if exc.context_id:
        parts.append(f"contextId {exc.context_id}")
    return "; ".join(parts)

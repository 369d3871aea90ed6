"""Which Open Messaging integration a request goes through."""

from outbound.cache import INTEGRATIONS
from outbound.errors import IntegrationInvalid
from tenants.models import Integration, Tenant


def integration_resolve(*, tenant: Tenant, integration_id: str | None) -> Integration:
    """The integration a request names, or the tenant's only one when it names none.

    Cached per process (outbound/cache.py); only found integrations are cached.
    """
    cache_key = (tenant.pk, integration_id or "")
    integration = INTEGRATIONS.get(cache_key)
    if integration is None:
        integration = _integration_lookup(tenant=tenant, integration_id=integration_id)
        INTEGRATIONS.put(cache_key, integration)
    return integration


def _integration_lookup(*, tenant: Tenant, integration_id: str | None) -> Integration:
    if integration_id:
        # Another tenant's integration answers exactly like an unknown one.
        integration = tenant.integrations.filter(integration_id=integration_id).first()
        if integration is None:
            raise IntegrationInvalid(
                "No such integration for this tenant.",
                errors={"integration_id": ["Unknown integration."]},
            )
        return integration
    integrations = list(tenant.integrations.all()[:2])
    if not integrations:
        raise IntegrationInvalid(
            "The tenant has no Open Messaging integration.",
            errors={"integration_id": ["The tenant has no integration configured."]},
        )
    if len(integrations) > 1:
        raise IntegrationInvalid(
            "The tenant has several integrations; name one.",
            errors={"integration_id": ["Required: the tenant has several integrations."]},
        )
    return integrations[0]

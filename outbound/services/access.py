"""A Genesys client for a tenant, wired to the shared token cache and rate limiter."""

import time
from collections.abc import Callable

from outbound.genesys import DatabaseRateLimiter, DatabaseTokenSource, GenesysClient
from tenants.models import Tenant


def genesys_client(
    *,
    tenant: Tenant,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> GenesysClient:
    """A client for the tenant's Genesys org, with the shared token cache and limiter."""
    credentials = tenant.genesys_credentials()
    return GenesysClient(
        base_url=credentials.api_base_url,
        token_source=DatabaseTokenSource(tenant),
        rate_limiter=DatabaseRateLimiter(tenant),
        sleep=sleep,
        monotonic=monotonic,
    )

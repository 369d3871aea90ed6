"""A Genesys client for a tenant, wired to the shared token cache and rate limiter."""

import time
from collections.abc import Callable

from outbound.genesys import DatabaseRateLimiter, DatabaseTokenSource, GenesysClient, RetryPolicy
from tenants.models import Tenant


def genesys_client(
    *,
    tenant: Tenant,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    policy: RetryPolicy | None = None,
    rate_limit_max_wait_s: float | None = None,
) -> GenesysClient:
    """A client for the tenant's Genesys org, with the shared token cache and limiter.

    `policy` and `rate_limit_max_wait_s` let the asynchronous worker make one attempt and
    hand waits back to its queue instead of sleeping through them.
    """
    credentials = tenant.genesys_credentials()
    return GenesysClient(
        base_url=credentials.api_base_url,
        token_source=DatabaseTokenSource(tenant),
        rate_limiter=DatabaseRateLimiter(tenant, max_wait_s=rate_limit_max_wait_s),
        policy=policy,
        sleep=sleep,
        monotonic=monotonic,
    )

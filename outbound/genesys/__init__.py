"""The only code that speaks HTTP to Genesys Cloud.

- `client`: GenesysClient, one method per Genesys endpoint.
- `transport`: the pooled session, one attempt, and the retry policy around it.
- `tokens`: the client-credentials grant and the shared token cache.
- `concurrency`: the cap on calls in flight per process (GenesysBusyError when full).
- `ratelimit`: the per-tenant token bucket that keeps us under Genesys' limit.
- `exceptions`: what went wrong, as Genesys facts; outbound/errors.py maps them to problems.
- `answers`: reading fields inside an answer, where a wrong shape is a GenesysBadAnswerError.

The names most callers need are re-exported here.
"""

from outbound.genesys.client import GenesysClient
from outbound.genesys.concurrency import GenesysBusyError
from outbound.genesys.exceptions import (
    GenesysAuthError,
    GenesysBadAnswerError,
    GenesysBadRequestError,
    GenesysError,
    GenesysNotFoundError,
    GenesysPermanentError,
    GenesysRateLimitedError,
    GenesysTimeoutError,
    GenesysTransientError,
)
from outbound.genesys.ratelimit import DatabaseRateLimiter, rate_limit_acquire
from outbound.genesys.tokens import (
    DatabaseTokenSource,
    FetchedToken,
    StaticToken,
    fetch_token,
    genesys_token_get,
)
from outbound.genesys.transport import RetryPolicy

__all__ = [
    "DatabaseRateLimiter",
    "DatabaseTokenSource",
    "FetchedToken",
    "GenesysAuthError",
    "GenesysBadAnswerError",
    "GenesysBadRequestError",
    "GenesysBusyError",
    "GenesysClient",
    "GenesysError",
    "GenesysNotFoundError",
    "GenesysPermanentError",
    "GenesysRateLimitedError",
    "GenesysTimeoutError",
    "GenesysTransientError",
    "RetryPolicy",
    "StaticToken",
    "fetch_token",
    "genesys_token_get",
    "rate_limit_acquire",
]

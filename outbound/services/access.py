"""What the Genesys client needs from the database: the token cache and the rate limiter.

Both are rows per tenant shared by every process (gunicorn workers, Celery workers), so
the gateway as a whole fetches one token at a time and stays under Genesys' per-client
request limit, however many processes run.
"""

import math
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from outbound.genesys import GenesysClient, GenesysRateLimitedError, fetch_token
from outbound.models import GenesysRateLimit, GenesysToken
from tenants import crypto
from tenants.models import Tenant


def _token_usable(row: GenesysToken) -> bool:
    margin = timedelta(seconds=settings.GENESYS_TOKEN_REFRESH_MARGIN_S)
    return bool(
        row.access_token_encrypted
        and row.expires_at is not None
        and row.expires_at - margin > timezone.now()
    )


def genesys_token_get(*, tenant: Tenant, rejected: str | None = None) -> str:
    """The tenant's access token from the shared cache, fetched when missing or stale.

    `rejected` is a token Genesys just answered 401 to: it is replaced, unless another
    worker has replaced it already.
    """
    row = GenesysToken.objects.filter(tenant=tenant).first()
    if row is not None and _token_usable(row):
        token = crypto.decrypt(row.access_token_encrypted)
        if token != rejected:
            return token
    return genesys_token_refresh(tenant=tenant, rejected=rejected)


def genesys_token_refresh(*, tenant: Tenant, rejected: str | None = None) -> str:
    """Fetch a token under the tenant's row lock; waiters then reuse the winner's token."""
    GenesysToken.objects.get_or_create(tenant=tenant)
    with transaction.atomic():
        # Holding the lock across the token request is the point: the other workers wait
        # here and find the fresh token instead of asking Genesys too.
        row = GenesysToken.objects.select_for_update().get(tenant=tenant)
        if _token_usable(row):
            token = crypto.decrypt(row.access_token_encrypted)
            if token != rejected:
                return token
        credentials = tenant.genesys_credentials()
        body = fetch_token(
            login_base_url=credentials.login_base_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
        )
        token = str(body["access_token"])
        now = timezone.now()
        row.access_token_encrypted = crypto.encrypt(token)
        row.expires_at = now + timedelta(seconds=int(body.get("expires_in") or 0))
        row.fetched_at = now
        row.fetch_count = F("fetch_count") + 1
        row.save()
        return token


def rate_limit_rate_per_s() -> float:
    per_minute = settings.GENESYS_RATE_LIMIT_PER_MINUTE
    return per_minute * (100 - settings.GENESYS_RATE_LIMIT_HEADROOM_PERCENT) / 100 / 60


def rate_limit_level(*, row: GenesysRateLimit) -> float:
    """The bucket's level now (negative: slots already reserved by waiting calls)."""
    elapsed = max(0.0, (timezone.now() - row.updated_at).total_seconds())
    return min(
        float(settings.GENESYS_RATE_LIMIT_BURST), row.tokens + elapsed * rate_limit_rate_per_s()
    )


def rate_limit_acquire(*, tenant: Tenant, max_wait_s: float) -> float:
    """Reserve one Genesys call for the tenant; return the seconds to wait before making it.

    A token bucket in one row, updated under its lock. A call that finds the bucket empty
    reserves the next free slot (the level goes negative) and is told how long to sleep,
    so waiting callers need no second round trip. When that wait exceeds `max_wait_s` the
    call is refused with GenesysRateLimitedError (503 + Retry-After) and reserves nothing.
    """
    burst = float(settings.GENESYS_RATE_LIMIT_BURST)
    rate = rate_limit_rate_per_s()
    GenesysRateLimit.objects.get_or_create(
        tenant=tenant, defaults={"tokens": burst, "updated_at": timezone.now()}
    )
    with transaction.atomic():
        row = GenesysRateLimit.objects.select_for_update().get(tenant=tenant)
        level = rate_limit_level(row=row)
        wait = 0.0 if level >= 1 else (1 - level) / rate
        row.updated_at = timezone.now()
        if wait > max_wait_s:
            row.tokens = level
            row.rejected_count = F("rejected_count") + 1
            row.save()
        else:
            row.tokens = level - 1
            if wait > 0:
                row.delayed_count = F("delayed_count") + 1
            row.save()
            return wait
    raise GenesysRateLimitedError(
        f"the gateway's limit of {rate * 60:.0f} Genesys requests a minute for this tenant "
        f"is used up; retry in {wait:.1f} s",
        retry_after=max(1, math.ceil(wait)),
    )


class _DatabaseTokenSource:
    def __init__(self, tenant: Tenant) -> None:
        self._tenant = tenant

    def token(self, *, rejected: str | None = None) -> str:
        return genesys_token_get(tenant=self._tenant, rejected=rejected)


class _DatabaseRateLimiter:
    def __init__(self, tenant: Tenant) -> None:
        self._tenant = tenant

    def acquire(self, *, max_wait_s: float) -> float:
        limit = min(max_wait_s, settings.GENESYS_RATE_LIMIT_MAX_WAIT_S)
        return rate_limit_acquire(tenant=self._tenant, max_wait_s=limit)


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
        token_source=_DatabaseTokenSource(tenant),
        rate_limiter=_DatabaseRateLimiter(tenant),
        sleep=sleep,
        monotonic=monotonic,
    )

"""The per-tenant rate limiter for Genesys calls: a token bucket in one database row.

The row is shared by every process (gunicorn workers, Celery workers), so the gateway as a
whole stays under Genesys' per-client request limit, however many processes run.
"""

import math

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from outbound.genesys.exceptions import GenesysRateLimitedError
from outbound.models import GenesysRateLimit
from tenants.models import Tenant


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


class DatabaseRateLimiter:
    """The tenant's bucket, never waiting longer than GENESYS_RATE_LIMIT_MAX_WAIT_S."""

    def __init__(self, tenant: Tenant) -> None:
        self._tenant = tenant

    def acquire(self, *, max_wait_s: float) -> float:
        limit = min(max_wait_s, settings.GENESYS_RATE_LIMIT_MAX_WAIT_S)
        return rate_limit_acquire(tenant=self._tenant, max_wait_s=limit)

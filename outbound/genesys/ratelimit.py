"""The per-tenant rate limiter for Genesys calls: a token bucket in one database row.

The row is shared by every process (gunicorn workers, Celery workers), so the gateway as a
whole stays under Genesys' per-client request limit, however many processes run.
"""

import math
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from genesys_gateway.sql import execute_prepared
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

    A token bucket in one row. A call that finds the bucket empty reserves the next free
    slot (the level goes negative) and is told how long to sleep, so waiting callers need
    no second round trip. When that wait exceeds `max_wait_s` the call is refused with
    GenesysRateLimitedError (503 + Retry-After) and reserves nothing.

    On PostgreSQL this is one UPDATE ... RETURNING in autocommit: the row lock lasts one
    statement, and no SELECT ... FOR UPDATE or get_or_create is needed.
    """
    if connection.vendor == "postgresql":
        wait = _acquire_in_one_statement(tenant=tenant, max_wait_s=max_wait_s)
    else:  # SQLite (make run): no EXTRACT(EPOCH ...); a locked read-modify-write will do
        wait = _acquire_read_modify_write(tenant=tenant, max_wait_s=max_wait_s)
    if wait < 0:
        raise rate_limit_refusal(tenant=tenant)
    return wait


def rate_limit_refusal(*, tenant: Tenant) -> GenesysRateLimitedError:
    """The error for a call the bucket refused, with the seconds until a slot is free."""
    rate = rate_limit_rate_per_s()
    level = rate_limit_level(row=GenesysRateLimit.objects.get(tenant=tenant))
    retry_after = (1 - level) / rate
    return GenesysRateLimitedError(
        f"the gateway's limit of {rate * 60:.0f} Genesys requests a minute for this tenant "
        f"is used up; retry in {retry_after:.1f} s",
        retry_after=max(1, math.ceil(retry_after)),
    )


# The statement's inputs, as a one-row relation `p` (positional parameters, so the UPDATE
# can share a statement with another one's).
_PARAMS = (
    "p (burst, rate, max_wait, at, tenant) AS (VALUES "
    "(%s::float8, %s::float8, %s::float8, %s::timestamptz, %s::bigint))"
)
# The bucket's level now, then the wait it implies (from the row's values before the UPDATE).
_LEVEL = (
    "LEAST(p.burst, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (p.at - b.updated_at))) * p.rate)"
)
_WAIT = f"(CASE WHEN {_LEVEL} >= 1 THEN 0 ELSE (1 - {_LEVEL}) / p.rate END)"
# `updated_at` never moves backwards: a statement whose time `p.at` was taken before
# another process's UPDATE, and that then waited for the row lock, would otherwise set it
# back and let the next caller collect the same refill a second time.
_UPDATE = f"""UPDATE outbound_genesysratelimit AS b SET
    tokens = CASE WHEN {_WAIT} > p.max_wait THEN {_LEVEL} ELSE {_LEVEL} - 1 END,
    delayed_count = b.delayed_count
        + CASE WHEN {_WAIT} > 0 AND {_WAIT} <= p.max_wait THEN 1 ELSE 0 END,
    rejected_count = b.rejected_count + CASE WHEN {_WAIT} > p.max_wait THEN 1 ELSE 0 END,
    last_wait_s = CASE WHEN {_WAIT} > p.max_wait THEN -1 ELSE {_WAIT} END,
    updated_at = GREATEST(b.updated_at, p.at)
FROM p
WHERE b.tenant_id = p.tenant"""
_ACQUIRE_SQL = f"WITH {_PARAMS}\n{_UPDATE}\nRETURNING b.last_wait_s"
# Another data-modifying statement first; the bucket is only touched if it returned a row.
_ACQUIRE_AFTER_SQL = f"""WITH first AS ({{statement}}),
{_PARAMS},
bucket AS ({_UPDATE} AND EXISTS (SELECT FROM first) RETURNING b.last_wait_s)
SELECT (SELECT * FROM first), (SELECT last_wait_s FROM bucket)"""


def _acquire_params(*, tenant: Tenant, max_wait_s: float, now: datetime) -> list[Any]:
    burst = float(settings.GENESYS_RATE_LIMIT_BURST)
    return [burst, rate_limit_rate_per_s(), max_wait_s, now, tenant.pk]


def _acquire_in_one_statement(*, tenant: Tenant, max_wait_s: float) -> float:
    """The wait granted (>= 0), or -1 when refused; creates the bucket on first use."""
    now = timezone.now()
    params = _acquire_params(tenant=tenant, max_wait_s=max_wait_s, now=now)
    for _ in range(2):
        row = execute_prepared(_ACQUIRE_SQL, params)
        if row is not None:
            return float(row[0])
        GenesysRateLimit.objects.bulk_create(
            [GenesysRateLimit(tenant=tenant, tokens=params[0], updated_at=now)],
            ignore_conflicts=True,
        )
    raise RuntimeError("the rate-limit bucket vanished while it was being created")


def rate_limit_acquire_after(
    *, tenant: Tenant, max_wait_s: float, statement: str, params: Sequence[Any]
) -> tuple[Any, float | None]:
    """Run `statement` and, if it returned a row, reserve one call: one round trip.

    `statement` is an INSERT or UPDATE ... RETURNING one column, with positional
    parameters (PostgreSQL only). Returns (its value or None, the wait as
    rate_limit_acquire computes it, -1 for refused, or None when nothing was reserved:
    the statement returned nothing, or the tenant has no bucket yet).
    """
    sql = _ACQUIRE_AFTER_SQL.format(statement=statement)
    bucket_params = _acquire_params(tenant=tenant, max_wait_s=max_wait_s, now=timezone.now())
    row = execute_prepared(sql, [*params, *bucket_params])  # one text per `statement`
    assert row is not None  # the final SELECT always returns one row
    value, wait = row
    return value, None if wait is None else float(wait)


def _acquire_read_modify_write(*, tenant: Tenant, max_wait_s: float) -> float:
    GenesysRateLimit.objects.get_or_create(
        tenant=tenant,
        defaults={"tokens": float(settings.GENESYS_RATE_LIMIT_BURST), "updated_at": timezone.now()},
    )
    with transaction.atomic():
        row = GenesysRateLimit.objects.select_for_update().get(tenant=tenant)
        level = rate_limit_level(row=row)
        wait = 0.0 if level >= 1 else (1 - level) / rate_limit_rate_per_s()
        row.updated_at = timezone.now()
        if wait > max_wait_s:
            row.tokens = level
            row.rejected_count = F("rejected_count") + 1
            wait = -1.0
        else:
            row.tokens = level - 1
            if wait > 0:
                row.delayed_count = F("delayed_count") + 1
        row.save()
    return wait


def rate_limit_pause(*, tenant: Tenant, seconds: float, reserve: bool = False) -> None:
    """Genesys answered 429: empty the tenant's bucket for `seconds`, for every process.

    The level is set so that the next free slot is `seconds` away (it is never raised), so
    all workers wait out Genesys' Retry-After instead of each learning it from its own
    429. With `reserve`, that first slot is taken for the caller that saw the 429.
    """
    rate = rate_limit_rate_per_s()
    target = 1 - seconds * rate - (1 if reserve else 0)
    rows = GenesysRateLimit.objects.filter(tenant=tenant)
    for row in rows:  # at most one; compare-and-set, a 429 is rare
        paused = min(rate_limit_level(row=row), target)
        rows.filter(updated_at=row.updated_at).update(tokens=paused, updated_at=timezone.now())


class DatabaseRateLimiter:
    """The tenant's bucket, never waiting longer than GENESYS_RATE_LIMIT_MAX_WAIT_S.

    `acquire_after` reserves a call in the same statement as another write (the
    idempotency claim); the next `acquire` hands out that reservation instead of a
    statement of its own. A limiter serves one send (a client is made per send).
    """

    def __init__(self, tenant: Tenant, *, max_wait_s: float | None = None) -> None:
        self._tenant = tenant
        self._max_wait_s = (
            settings.GENESYS_RATE_LIMIT_MAX_WAIT_S if max_wait_s is None else max_wait_s
        )
        # From acquire_after: (the wait granted, or -1 for refused; when it was granted).
        self._reserved: tuple[float, float] | None = None

    def acquire(self, *, max_wait_s: float) -> float:
        limit = min(max_wait_s, self._max_wait_s)
        reserved, self._reserved = self._reserved, None
        if reserved is None:
            return rate_limit_acquire(tenant=self._tenant, max_wait_s=limit)
        granted, at = reserved
        if granted < 0:
            raise rate_limit_refusal(tenant=self._tenant)
        wait = max(0.0, granted - (time.monotonic() - at))  # e.g. a token refresh came first
        # A caller with less time left than the reservation's wait cannot use it; the slot
        # stays spent, which only ever keeps the tenant further under its limit.
        if wait > limit:
            raise rate_limit_refusal(tenant=self._tenant)
        return wait

    def acquire_after(self, *, statement: str, params: Sequence[Any]) -> Any:
        """Run `statement` and reserve a call if it returned a row (PostgreSQL only; see
        rate_limit_acquire_after). The statement's value, or None."""
        value, wait = rate_limit_acquire_after(
            tenant=self._tenant, max_wait_s=self._max_wait_s, statement=statement, params=params
        )
        self._reserved = None if wait is None else (wait, time.monotonic())
        return value

    def pause(self, *, seconds: float, reserve: bool) -> None:
        rate_limit_pause(tenant=self._tenant, seconds=seconds, reserve=reserve)

"""At-most-once calls to Genesys, keyed by a unique constraint rather than a check.

The row's INSERT is the claim: the request whose INSERT wins calls Genesys; repeats find
the row, and either read the winner's result or wait (briefly polling) until it has one.
Every claim carries a fresh `claim_token`; completion and release only touch the row while
it still holds that token, so a request whose stale claim was taken over by another can
neither delete nor overwrite the new owner's claim. Transactions stay short, so no
database lock is held while Genesys is called.
"""

import functools
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from django.conf import settings
from django.db import connection
from django.db.models import Field
from django.utils import timezone

from genesys_gateway.sql import execute_prepared, insert_once, insert_once_sql
from outbound.errors import DeliveryInProgress
from outbound.genesys import DatabaseRateLimiter
from outbound.models import DeliveryState, InboundMessage, InboundReceipt

logger = structlog.get_logger(__name__)

Delivery = TypeVar("Delivery", InboundMessage, InboundReceipt)


def _claim_insert(*, row: Delivery, limiter: DatabaseRateLimiter | None) -> bool:
    """INSERT the unsaved claim `row` (setting its pk); False when the key is taken.

    With a `limiter`, the INSERT also reserves the Genesys call in the tenant's bucket,
    in the same statement (one round trip fewer per message; docs/benchmarks.md).
    """
    if limiter is None or connection.vendor != "postgresql":
        return insert_once(row) is not None
    sql, params = insert_once_sql(row)
    new_id = limiter.acquire_after(statement=sql, params=params)
    if new_id is None:
        return False
    row.pk, row._state.adding = new_id, False
    return True


def _stale_after() -> timedelta:
    """A claim older than any call could take belongs to a process that died mid-call."""
    return timedelta(seconds=settings.GENESYS_RETRY_BUDGET_S + 2 * settings.GENESYS_TIMEOUT_S)


def delivery_claim(
    *,
    model: type[Delivery],
    lookup: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    wait_s: float | None = None,
    limiter: DatabaseRateLimiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[Delivery, bool]:
    """(row, True) when this request must call Genesys; (row, False) when it was done.

    While another request holds a fresh claim this waits up to `wait_s` (default
    GENESYS_IDEMPOTENCY_WAIT_S) for its result, then raises DeliveryInProgress. A claim
    won by the INSERT also reserves the call in `limiter`, if one is given.
    """
    wait = settings.GENESYS_IDEMPOTENCY_WAIT_S if wait_s is None else wait_s
    deadline = monotonic() + wait
    poll_s = 0.02
    while True:
        now = timezone.now()
        token = uuid.uuid4()
        values = {
            **lookup,
            **(defaults or {}),
            "state": DeliveryState.PENDING,
            "claimed_at": now,
            "claim_token": token,
            "created_at": now,
        }
        claim = model(**values)
        if _claim_insert(row=claim, limiter=limiter):
            return claim, True
        row = model._default_manager.filter(**lookup).first()
        if row is None:  # released between our INSERT and SELECT: try again
            continue
        if row.state == DeliveryState.SENT:
            return row, False
        if row.claimed_at < now - _stale_after():
            taken = model._default_manager.filter(
                pk=row.pk, state=DeliveryState.PENDING, claim_token=row.claim_token
            ).update(claimed_at=now, claim_token=token)
            if taken:
                logger.warning("delivery_claim_taken_over", model=model.__name__, pk=row.pk)
                row.claimed_at, row.claim_token = now, token
                return row, True
            continue
        if monotonic() >= deadline:
            raise DeliveryInProgress(
                "An identical request is still waiting for Genesys; retry shortly.",
                headers={"Retry-After": str(settings.GENESYS_DEFAULT_RETRY_AFTER_S)},
            )
        sleep(poll_s)
        poll_s = min(poll_s * 2, 0.25)


def _claimed_update(*, row: Delivery, values: dict[str, Any]) -> bool:
    """UPDATE the row while it still holds this request's claim; whether it did.

    Written out rather than through QuerySet.update(), which builds the same statement at
    several times the CPU cost on every message, and prepared, as its text is one per
    model and set of columns (docs/benchmarks.md).
    """
    fields = _fields(type(row))
    params = []
    for name, value in values.items():
        if fields[name].is_relation:
            value = getattr(value, "pk", value)  # a related row is stored as its id
        params.append(fields[name].get_db_prep_save(value, connection))
    params += [
        row.pk,
        fields["state"].get_db_prep_save(DeliveryState.PENDING, connection),
        fields["claim_token"].get_db_prep_save(row.claim_token, connection),
    ]
    return execute_prepared(_claimed_update_sql(type(row), tuple(values)), params) is not None


@functools.cache
def _fields(model: type[Delivery]) -> "dict[str, Field[Any, Any]]":
    return {field.name: field for field in model._meta.concrete_fields}


@functools.cache
def _claimed_update_sql(model: type[Delivery], names: tuple[str, ...]) -> str:
    """The statement for `_claimed_update`; one per model and set of columns."""
    fields, quote = _fields(model), connection.ops.quote_name

    def column(name: str) -> str:
        return quote(fields[name].column or fields[name].attname)

    assignments = ", ".join(f"{column(name)} = %s" for name in names)
    pk = model._meta.pk
    assert pk is not None
    return (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
        f"WHERE {column(pk.name)} = %s AND {column('state')} = %s "
        f"AND {column('claim_token')} = %s RETURNING {column(pk.name)}"
    )


def delivery_complete(*, row: Delivery, **fields: Any) -> bool:
    """Record the Genesys result, if this request still owns the claim; True if it did.

    A request that lost its claim (it took longer than the stale limit and another took
    over) leaves the row to the new owner, whose call carries the same
    `channel.messageId` (docs/api.md, "Sends that never double").
    """
    values = {**fields, "state": DeliveryState.SENT, "sent_at": timezone.now()}
    updated = _claimed_update(row=row, values=values)
    for name, value in values.items():
        setattr(row, name, value)
    if not updated:
        logger.warning("delivery_claim_lost", model=type(row).__name__, pk=row.pk)
    return updated


def delivery_release(*, row: Delivery) -> bool:
    """Forget a claim whose Genesys call failed, so the same request may be retried.

    Only this request's own claim: one taken over by another request stays.
    """
    deleted, _ = (
        type(row)
        ._default_manager.filter(
            pk=row.pk, state=DeliveryState.PENDING, claim_token=row.claim_token
        )
        .delete()
    )
    return bool(deleted)


def deliveries_purge(*, older_than: timedelta) -> int:
    """Delete sent messages and receipts older than `older_than`; return how many.

    Their rows only guard against repeats, and WhatsApp stops redelivering after days,
    so old ones are dead weight. Pending claims are left to their owners.
    """
    cutoff = timezone.now() - older_than
    deleted = 0
    for model in (InboundMessage, InboundReceipt):
        count, _ = model._default_manager.filter(
            state=DeliveryState.SENT, sent_at__lt=cutoff
        ).delete()
        deleted += count
    return deleted

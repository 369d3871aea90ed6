"""Writes to the outbox: enqueue an event (in the webhook's transaction), replay dead
rows, purge old ones. Publishing them is webhooks.outbox.relay's job."""

import functools
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from genesys_gateway.event_sink import SinkEvent
from genesys_gateway.sql import execute_prepared, insert_once
from tenants.models import Conversation, Integration, Tenant
from tenants.selectors import conversation_latest_for_customer_sql
from webhooks.models import OutboxMessage
from webhooks.outbox.wakeup import relay_wake
from webhooks.payloads.cloudevents import (
    cloud_event_build,
    routing_key,
)
from webhooks.payloads.types import GenesysEvent, event_create

logger = structlog.get_logger(__name__)


def _event_fields(*, tenant: Tenant, event: GenesysEvent) -> dict[str, Any]:
    """What an outbox row takes from its event; its other columns start at their defaults."""
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "ordering_key": event.ordering_key,
        "routing_key": routing_key(event_type=event.event_type, tenant_slug=tenant.slug),
        "cloud_event": cloud_event_build(event=event, tenant_slug=tenant.slug),
        "status": OutboxMessage.Status.PENDING if event.published else OutboxMessage.Status.IGNORED,
    }


def _outbox_message(*, tenant: Tenant, event: GenesysEvent) -> OutboxMessage:
    return OutboxMessage(tenant=tenant, **_event_fields(tenant=tenant, event=event))


def outbox_enqueue(*, tenant: Tenant, event: GenesysEvent) -> OutboxMessage | None:
    """Store one event; None when (tenant, event id) is stored already (a redelivery).

    Inside the webhook's transaction, or alone in autocommit (see `insert_once`).
    """
    message = _outbox_message(tenant=tenant, event=event)
    if insert_once(message, conflict_columns=("tenant_id", "event_id")) is None:
        return None
    return message


def _outbox_row(*, tenant: Tenant, event: GenesysEvent) -> dict[str, Any]:
    """The columns and values an INSERT of `_outbox_message(...)` writes, built directly.

    The webhook's hot path skips the model instance and Django's per-field adaptation,
    about 20 us of each webhook's CPU (docs/benchmarks.md). The event's fields are
    `_outbox_message`'s own; the defaults written here are held equal to the model's by
    a test, so a new column cannot be missed.
    """
    return {
        "tenant_id": tenant.pk,
        **_event_fields(tenant=tenant, event=event),
        "attempts": 0,
        "copy_attempts": 0,
        "next_attempt_at": None,
        "last_error": "",
        "created_at": timezone.now(),
        "published_at": None,
    }


def outbox_enqueue_in_latest_conversation(
    *, tenant: Tenant, event: GenesysEvent, integration: Integration, customer_id: str
) -> tuple[str | None, str | None]:
    """Store a customer's event in their newest conversation on this integration, in one
    statement (PostgreSQL only): the stored row's status, None for a redelivery, and the
    conversation id, None when the customer has none.

    `event` is normalised without a conversation and ordered by the customer. The
    statement reads the customer's newest conversation (the SELECT of
    `conversation_latest_for_customer`) and, when there is one, inserts the event into
    it: its id becomes the ordering key, the CloudEvent's `subject` and the data's
    `conversation_id`, as if it had been known before (what `open_messaging_normalise`
    makes of a known conversation). A published event stored in a conversation of the
    same tenant is recorded on it like `conversation_event_record` does, in the same
    statement, which is atomic by itself: one round trip instead of two to four.
    """
    row = _outbox_row(tenant=tenant, event=event)
    document = row.pop("cloud_event")
    published = row["status"] == OutboxMessage.Status.PENDING
    sql = _in_latest_conversation_sql(tuple(row), record=published)
    params = [integration.pk, customer_id, *row.values(), Jsonb(document)]
    if published:
        event_at = datetime.fromisoformat(document["time"])
        params += [event.event_type, event_at, timezone.now(), tenant.pk, event_at]
    # Prepared: PostgreSQL parses it once per connection, not per webhook, and psycopg does
    # not merge 19 parameters into the text each time (docs/benchmarks.md has the figures).
    result = execute_prepared(sql, params)
    assert result is not None  # the final SELECT always returns one row
    message_id, conversation_id = result
    return (None if message_id is None else row["status"]), conversation_id


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _in_latest_conversation_sql(columns: tuple[str, ...], *, record: bool) -> str:
    """The statement of `outbox_enqueue_in_latest_conversation` for these INSERT columns
    (all but the CloudEvent, which comes last).

    Parameters: the SELECT's (integration pk, customer id), the columns' values, the
    CloudEvent; with `record`, the conversation's new last event type and time, its
    updated_at, the tenant pk and the event time again.
    """
    _, latest = conversation_latest_for_customer_sql()
    q = _quote
    conversation_id = f"latest.{q('conversation_id')}"
    selected = []
    for column in (*columns, "cloud_event"):
        if column == "cloud_event":
            # The document as built, or with the conversation's id where a known
            # conversation puts it (webhooks/payloads/cloudevents.py).
            selected.append(
                f"CASE WHEN {conversation_id} IS NULL THEN event.document ELSE jsonb_set("
                f"jsonb_set(event.document, '{{data,conversation_id}}', "
                f"to_jsonb({conversation_id}), false), '{{subject}}', to_jsonb({conversation_id})"
                ") END"
            )
        elif column == "ordering_key":
            selected.append(f"COALESCE({conversation_id}, %s)")
        else:
            selected.append("%s")
    outbox = q(OutboxMessage._meta.db_table)
    sql = (
        f"WITH latest AS ({latest}), inserted AS ("
        f"INSERT INTO {outbox} ({', '.join(map(q, (*columns, 'cloud_event')))}) "
        f"SELECT {', '.join(selected)} "
        "FROM (SELECT %s::jsonb AS document) AS event LEFT JOIN latest ON true "
        f"ON CONFLICT ({q('tenant_id')}, {q('event_id')}) DO NOTHING RETURNING {q('id')})"
    )
    if record:
        conversations = q(Conversation._meta.db_table)
        last_at = q("last_event_at")
        sql += (
            f", recorded AS (UPDATE {conversations} SET {q('last_event_type')} = %s, "
            f"{last_at} = %s, {q('updated_at')} = %s "
            f"WHERE {q('id')} = (SELECT {q('id')} FROM latest WHERE {q('tenant_id')} = %s) "
            "AND EXISTS (SELECT FROM inserted) "
            f"AND ({last_at} IS NULL OR {last_at} <= %s))"
        )
    return sql + f" SELECT (SELECT {q('id')} FROM inserted), (SELECT {conversation_id} FROM latest)"


def outbox_emit(tenant: Tenant, event: SinkEvent) -> bool:
    """The event sink other apps write through (genesys_gateway/event_sink.py): store the
    event, wake the relay once the caller's transaction commits. False for a repeat."""
    stored = outbox_enqueue(
        tenant=tenant,
        event=event_create(
            event_id=event.event_id,
            event_type=event.event_type,
            time=event.time,
            data=event.data,
            conversation_id=event.conversation_id,
            ordering_key=event.ordering_key,
        ),
    )
    if stored is not None:
        transaction.on_commit(relay_wake)
    return stored is not None


def outbox_replay(
    *, tenant_slug: str | None = None, since: datetime | None = None, ids: list[int] | None = None
) -> int:
    """Set dead rows back to pending with a fresh budget; return how many. Wakes the relay."""
    rows = OutboxMessage.objects.filter(status=OutboxMessage.Status.DEAD)
    if tenant_slug is not None:
        rows = rows.filter(tenant__slug=tenant_slug)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if ids is not None:
        rows = rows.filter(id__in=ids)
    with transaction.atomic():
        count = rows.update(status=OutboxMessage.Status.PENDING, attempts=0, next_attempt_at=None)
        if count:
            transaction.on_commit(relay_wake)
    logger.info("relay.replayed", count=count, tenant=tenant_slug)
    return count


def outbox_purge(
    *,
    older_than: timedelta | None = None,
    dead_older_than: timedelta | None = None,
    batch_size: int = 1000,
) -> int:
    """Delete rows past retention; return how many.

    Published rows go `older_than` (OUTBOX_RETENTION_HOURS) after publication, ignored ones
    as long after creation, dead ones `dead_older_than` (OUTBOX_DEAD_RETENTION_DAYS) after
    creation. Each DELETE takes at most `batch_size` rows, so its locks stay short next to
    the webhook inserts and the relay; pending rows are never deleted.
    """
    now = timezone.now()
    cutoff = now - (
        older_than if older_than is not None else timedelta(hours=settings.OUTBOX_RETENTION_HOURS)
    )
    dead_cutoff = now - (
        dead_older_than
        if dead_older_than is not None
        else timedelta(days=settings.OUTBOX_DEAD_RETENTION_DAYS)
    )
    old = OutboxMessage.objects.filter(
        Q(status=OutboxMessage.Status.PUBLISHED, published_at__lt=cutoff)
        | Q(status=OutboxMessage.Status.IGNORED, created_at__lt=cutoff)
        | Q(status=OutboxMessage.Status.DEAD, created_at__lt=dead_cutoff)
    )
    deleted = 0
    while True:
        # One statement per batch: DELETE ... WHERE id IN (SELECT id ... LIMIT n).
        count, _ = OutboxMessage.objects.filter(id__in=old.values("id")[:batch_size]).delete()
        deleted += count
        if count < batch_size:
            break
    logger.info("relay.purged", count=deleted)
    return deleted

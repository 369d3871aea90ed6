"""Writes to the outbox: enqueue an event (in the webhook's transaction), replay dead
rows, purge old ones. Publishing them is webhooks.outbox.relay's job."""

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from genesys_gateway.event_sink import SinkEvent
from genesys_gateway.sql import insert_once
from tenants.models import Tenant
from webhooks.models import OutboxMessage
from webhooks.outbox.wakeup import relay_wake
from webhooks.payloads.cloudevents import cloud_event_build, routing_key
from webhooks.payloads.types import GenesysEvent, event_create

logger = structlog.get_logger(__name__)


def outbox_enqueue(*, tenant: Tenant, event: GenesysEvent) -> OutboxMessage | None:
    """Store one event; None when (tenant, event id) is stored already (a redelivery).

    Inside the webhook's transaction, or alone in autocommit (see `insert_once`).
    """
    message = OutboxMessage(
        tenant=tenant,
        event_id=event.event_id,
        event_type=event.event_type,
        ordering_key=event.ordering_key,
        routing_key=routing_key(event_type=event.event_type, tenant_slug=tenant.slug),
        cloud_event=cloud_event_build(event=event, tenant_slug=tenant.slug),
        status=OutboxMessage.Status.PENDING if event.published else OutboxMessage.Status.IGNORED,
    )
    if insert_once(message, conflict_columns=("tenant_id", "event_id")) is None:
        return None
    return message


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

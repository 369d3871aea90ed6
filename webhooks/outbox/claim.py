"""The claim: which pending outbox rows a relay may publish next, locked for it.

Only the head of an ordering key (its oldest pending row) is claimable, locked with
`FOR UPDATE SKIP LOCKED`, so a key has at most one row in flight across all relays and
SKIP LOCKED hands each relay different keys. See docs/relay.md.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from tenants.models import Tenant
from webhooks.models import OutboxMessage
from webhooks.outbox.publisher import OutgoingEvent

# The heads of all ordering keys (MIN(id) over the partial index of pending rows), of
# which we lock the oldest that are due. The outer status test is re-checked by PostgreSQL
# on the locked row version, so a head another worker just published is dropped, never
# double-published; rows behind a head are never selected, which is what keeps the order.
_CLAIM_SQL = """
SELECT o.id, o.event_id, o.routing_key, {body}, o.created_at, t.slug
FROM {outbox} o
JOIN {tenant} t ON t.id = o.tenant_id
WHERE o.id IN (
    SELECT MIN(id) FROM {outbox} WHERE status = 'pending' GROUP BY ordering_key
)
AND o.status = 'pending'
AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= %s)
ORDER BY o.id
LIMIT %s
{lock}
"""


@dataclass(frozen=True)
class ClaimedRow:
    event: OutgoingEvent
    created_at: datetime


def _claim_sql() -> str:
    quote = connection.ops.quote_name
    tables = {
        "outbox": quote(OutboxMessage._meta.db_table),
        "tenant": quote(Tenant._meta.db_table),
    }
    if connection.vendor == "postgresql":
        return _CLAIM_SQL.format(
            body="o.cloud_event::text", lock="FOR UPDATE OF o SKIP LOCKED", **tables
        )
    # SQLite (the `make run` default) has neither row locks nor jsonb: there the claim is
    # the same query without the lock, safe for the single relay a development setup runs.
    return _CLAIM_SQL.format(body="o.cloud_event", lock="", **tables)


def outbox_claim(*, limit: int) -> list[ClaimedRow]:
    """Lock up to `limit` due heads of ordering keys, oldest first. Call inside a transaction."""
    with connection.cursor() as cursor:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        cursor.execute(_claim_sql(), [now, limit])
        rows = cursor.fetchall()
    return [
        ClaimedRow(
            event=OutgoingEvent(
                key=row_id,
                event_id=event_id,
                tenant=slug,
                routing_key=routing_key,
                body=body.encode(),
            ),
            # SQLite hands raw datetimes back naive (in UTC); PostgreSQL aware.
            created_at=created_at
            if timezone.is_aware(created_at)
            else timezone.make_aware(created_at, UTC),
        )
        for row_id, event_id, routing_key, body, created_at, slug in rows
    ]

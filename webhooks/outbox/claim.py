"""The claim: which pending outbox rows a relay may publish next, with their keys held.

A relay claims ordering *keys*, not single rows, in two statements of its batch transaction
(PostgreSQL; see docs/relay.md for the reasoning and the query plans):

1. `_KEYS_SQL` reads a window of the oldest due pending rows (an index range scan of
   OUTBOX_RELAY_WINDOW_FACTOR x batch rows, whatever the backlog), then walks their keys
   oldest first, taking a transaction-scoped advisory lock on each key it can get
   (`pg_try_advisory_xact_lock`, never waiting), until its keys cover a batch. A key held
   by another relay is skipped, so relays share the backlog key by key.
2. `_ROWS_SQL`, a new statement and therefore a new snapshot taken after the locks, reads
   the pending rows of those keys up to the window's last id, in id order. Whatever the
   previous holder of a key committed is visible to it, so no row is published twice and
   a key has one relay publishing it at a time. This needs READ COMMITTED, Django's
   default on PostgreSQL (under REPEATABLE READ both statements would share one snapshot).

The locks are released by the commit that records the outcome. Each key's rows in a batch
are a prefix of its pending rows; `_due_prefixes` cuts a key at its first row that is
waiting for a retry, which holds back the rest of that conversation.

SQLite (`make run`) has no advisory locks: there the keys come from the same window without
locks, which is safe for the single relay a development setup runs.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tenants.models import Tenant
from webhooks.models import OutboxMessage
from webhooks.outbox.publisher import OutgoingEvent

# First argument of the two-key advisory lock functions, so our locks cannot collide with
# any other advisory lock taken in this database (the second key is the ordering key's hash).
ADVISORY_LOCK_SPACE = 0x6F62  # "ob"

_WINDOW_SQL = """
SELECT id, ordering_key FROM {outbox}
WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
ORDER BY id
LIMIT %(window)s
"""

# `heads` lists the window's keys in the order of their oldest row, with how many window
# rows each has. The recursive walk tries one key per step and stops once the locked keys
# cover a batch, so it locks only keys it will use. Its lock call sits in a LATERAL
# subquery, which PostgreSQL evaluates once per step and never inlines.
_KEYS_SQL = """
WITH RECURSIVE win AS ({window}),
heads AS (
    SELECT array_agg(ordering_key ORDER BY first_id) AS keys,
           array_agg(n ORDER BY first_id) AS counts,
           MAX(last_id) AS last_id
    FROM (
        SELECT ordering_key, MIN(id) AS first_id, MAX(id) AS last_id, COUNT(*) AS n
        FROM win GROUP BY ordering_key
    ) per_key
),
walk (i, taken, ordering_key, locked) AS (
    SELECT 0, 0::bigint, NULL::text, false
    UNION ALL
    SELECT w.i + 1,
           w.taken + CASE WHEN l.locked THEN h.counts[w.i + 1] ELSE 0 END,
           h.keys[w.i + 1]::text,
           l.locked
    FROM walk w
    CROSS JOIN heads h
    CROSS JOIN LATERAL (
        SELECT pg_try_advisory_xact_lock(%(space)s, hashtext(h.keys[w.i + 1])) AS locked
    ) l
    WHERE w.taken < %(batch)s AND w.i < cardinality(h.keys)
)
SELECT w.ordering_key, h.last_id FROM walk w CROSS JOIN heads h WHERE w.locked
"""

_ROWS_SQL = """
SELECT o.id, o.ordering_key, o.event_id, o.routing_key, {body}, o.created_at,
       o.next_attempt_at, o.attempts, t.slug
FROM {outbox} o
JOIN {tenant} t ON t.id = o.tenant_id
WHERE o.status = 'pending' AND o.ordering_key IN ({keys}) AND o.id <= %s
ORDER BY o.id
LIMIT %s
"""


@dataclass(frozen=True)
class Retry:
    """A row the broker refused before, or one held back behind such a row."""

    attempts: int
    not_before: datetime | None


@dataclass(frozen=True)
class ClaimedRow:
    event: OutgoingEvent
    ordering_key: str
    created_at: datetime


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "outbox": quote(OutboxMessage._meta.db_table),
        "tenant": quote(Tenant._meta.db_table),
    }


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands raw datetimes back naive (in UTC); PostgreSQL aware.
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, UTC)


def _keys_locked(*, now: Any, batch: int, window: int) -> tuple[list[str], int]:
    """PostgreSQL: the keys this transaction now holds, and the window's last id."""
    sql = _KEYS_SQL.format(window=_WINDOW_SQL.format(**_tables()))
    params = {"now": now, "window": window, "space": ADVISORY_LOCK_SPACE, "batch": batch}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [key for key, _ in rows], max((last for _, last in rows), default=0)


def _keys_unlocked(*, now: Any, batch: int, window: int) -> tuple[list[str], int]:
    """SQLite: the same choice of keys as _keys_locked, without locks."""
    with connection.cursor() as cursor:
        cursor.execute(_WINDOW_SQL.format(**_tables()), {"now": now, "window": window})
        rows = cursor.fetchall()
    counts = Counter(key for _, key in rows)  # insertion order: oldest row first
    keys, taken = [], 0
    for key, count in counts.items():
        if taken >= batch:
            break
        keys.append(key)
        taken += count
    return keys, max((row_id for row_id, _ in rows), default=0)


def _due_prefixes(rows: list[ClaimedRow], retries: dict[int, Retry]) -> list[ClaimedRow]:
    """Cut each key's rows at its first one still waiting for a retry.

    A row being retried goes alone: the rest of its key follows only once the broker took
    it, so a row refused again is not overtaken by the rows behind it.
    """
    now = timezone.now()
    blocked: set[str] = set()
    due = []
    for row in rows:
        if row.ordering_key in blocked:
            continue
        retry = retries.get(row.event.key)
        if retry is not None and retry.not_before is not None and retry.not_before > now:
            blocked.add(row.ordering_key)
            continue
        if retry is not None and retry.attempts:
            blocked.add(row.ordering_key)
        due.append(row)
    return due


def outbox_claim(*, limit: int) -> list[ClaimedRow]:
    """Hold up to `limit` due rows, each key's in id order. Call inside a transaction."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    window = limit * settings.OUTBOX_RELAY_WINDOW_FACTOR
    locking = connection.vendor == "postgresql"
    choose = _keys_locked if locking else _keys_unlocked
    keys, last_id = choose(now=now, batch=limit, window=window)
    if not keys:
        return []
    sql = _ROWS_SQL.format(
        body="o.cloud_event::text" if locking else "o.cloud_event",
        keys=", ".join(["%s"] * len(keys)),
        **_tables(),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*keys, last_id, limit])
        fetched = cursor.fetchall()
    rows, retries = [], {}
    for row_id, key, event_id, routing_key, body, created_at, next_at, attempts, slug in fetched:
        event = OutgoingEvent(
            key=row_id, event_id=event_id, tenant=slug, routing_key=routing_key, body=body.encode()
        )
        created = _aware(created_at)
        assert created is not None
        rows.append(ClaimedRow(event=event, ordering_key=key, created_at=created))
        if attempts or next_at is not None:
            retries[row_id] = Retry(attempts=attempts, not_before=_aware(next_at))
    return _due_prefixes(rows, retries)

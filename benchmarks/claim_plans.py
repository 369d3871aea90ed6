"""EXPLAIN ANALYZE of the relay's claim at a given backlog, on the PostgreSQL of DATABASE_URL.

Fills the outbox with `--rows` pending rows over `--keys` ordering keys (one INSERT ...
SELECT generate_series), then explains both claim statements inside a transaction that is
rolled back, so the locks and plans are those of a real claim. Use a scratch database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/plans python manage.py migrate
    DATABASE_URL=... python -m benchmarks.claim_plans --rows 1000000 --keys 2000
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")
django.setup()

from django.conf import settings  # noqa: E402  # after django.setup()
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from webhooks.models import OutboxMessage  # noqa: E402
from webhooks.outbox import claim  # noqa: E402


def _fill(*, rows: int, keys: int) -> None:
    tenant = Tenant.objects.filter(slug="plans").first() or tenant_create(
        slug="plans",
        name="Plans",
        region="custom",
        api_base_url="https://api.genesys.test",
        login_base_url="https://login.genesys.test",
        client_id="plans",
        client_secret="plans-secret",
    )
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, event_id, event_type, ordering_key, routing_key,"
            " cloud_event, status, attempts, last_error, created_at)"
            " SELECT %s, 'ev-' || n, 'message.outbound', 'conv-' || (n %% %s),"
            " 'message.outbound.plans', jsonb_build_object('id', 'ev-' || n, 'data',"
            " repeat('x', 300)), 'pending', 0, '', now() FROM generate_series(1, %s) AS n",
            [tenant.pk, keys, rows],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")


def _explain(sql: str, params: Any) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return [line for (line,) in cursor.fetchall()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=2_000)
    args = parser.parse_args(argv)
    _fill(rows=args.rows, keys=args.keys)
    batch = settings.OUTBOX_RELAY_BATCH_SIZE
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = {
        "now": now,
        "window": batch * settings.OUTBOX_RELAY_WINDOW_FACTOR,
        "space": claim.ADVISORY_LOCK_SPACE,
        "batch": batch,
    }
    keys_sql = claim._KEYS_SQL.format(window=claim._WINDOW_SQL.format(**claim._tables()))
    print(f"-- {args.rows} pending rows over {args.keys} keys, batch {batch}")
    with transaction.atomic():
        print("\n".join(_explain(keys_sql, params)))
        sid = transaction.savepoint()
        locked, last_id = claim._keys_locked(now=now, batch=batch, window=params["window"])
        transaction.savepoint_rollback(sid)
        rows_sql = claim._ROWS_SQL.format(
            body="o.cloud_event::text", keys=", ".join(["%s"] * len(locked)), **claim._tables()
        )
        print()
        print("\n".join(_explain(rows_sql, [*locked, last_id, batch])))
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()

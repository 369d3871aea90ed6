"""Retention: published, ignored and dead rows go after their periods, in small deletes."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Tenant
from tests.relay.conftest import outbox_write
from webhooks.models import OutboxMessage
from webhooks.outbox.services import outbox_purge

pytestmark = pytest.mark.django_db


def _aged(rows: list[OutboxMessage], *, status: str, days: float) -> set[int]:
    at = timezone.now() - timedelta(days=days)
    ids = {row.id for row in rows}
    OutboxMessage.objects.filter(id__in=ids).update(
        status=status, created_at=at, published_at=at if status == "published" else None
    )
    return ids


def test_dead_rows_go_after_the_dead_retention_and_pending_rows_never(tenant: Tenant) -> None:
    rows = outbox_write(tenant=tenant, keys=["conv-1", "conv-2"], per_key=10, wake=False)
    old_dead = _aged(rows[0:5], status="dead", days=31)
    recent_dead = _aged(rows[5:10], status="dead", days=29)
    old_published = _aged(rows[10:15], status="published", days=4)
    ancient_pending = _aged(rows[15:20], status="pending", days=400)

    assert outbox_purge() == len(old_dead) + len(old_published)
    remaining = set(OutboxMessage.objects.values_list("id", flat=True))
    assert remaining == recent_dead | ancient_pending


@pytest.mark.django_db
def test_purge_deletes_in_bounded_statements(tenant: Tenant) -> None:
    rows = outbox_write(tenant=tenant, keys=["conv-1"], per_key=25, wake=False)
    _aged(rows, status="published", days=10)
    with CaptureQueriesContext(connection) as queries:
        assert outbox_purge(batch_size=10) == 25
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    # 10 + 10 + 5, each one statement that picks its own rows with a LIMIT.
    assert len(deletes) == 3
    assert all("LIMIT 10" in sql for sql in deletes)
    assert not OutboxMessage.objects.exists()


def test_purge_command_takes_both_periods(tenant: Tenant) -> None:
    rows = outbox_write(tenant=tenant, keys=["conv-1"], per_key=4, wake=False)
    _aged(rows[:2], status="dead", days=2)
    kept = _aged(rows[2:], status="published", days=2)
    out = StringIO()
    call_command("outbox", "purge", "--older-than-hours", "72", "--dead-older-than-days", "1",
                 stdout=out)  # fmt: skip
    assert out.getvalue().strip() == "deleted 2 outbox rows"
    assert set(OutboxMessage.objects.values_list("id", flat=True)) == kept

"""The webhook hot path builds its outbox row without a model instance; it must still be
exactly the row an INSERT of the model writes."""

from datetime import datetime

import pytest
from django.db import connection

from genesys_gateway.sql import insert_values
from tenants.models import Tenant
from webhooks.outbox.services import _outbox_message, _outbox_row
from webhooks.payloads.types import UNHANDLED, event_create


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", ["message.agent", UNHANDLED])
def test_the_direct_row_is_the_model_row(tenant: Tenant, event_type: str) -> None:
    event = event_create(
        event_id="evt-1",
        event_type=event_type,
        time="2026-11-30T10:00:00.000Z",
        data={"text": "Hello", "nested": {"n": [1, 2]}},
        ordering_key="customer:+15550001",
    )
    columns, values = insert_values(_outbox_message(tenant=tenant, event=event))
    row = _outbox_row(tenant=tenant, event=event)

    assert [connection.ops.quote_name(name) for name in row] == columns
    expected = dict(zip(row, values, strict=True))
    assert row["cloud_event"] == expected.pop("cloud_event").obj  # Django's Jsonb wrapper
    assert isinstance(row.pop("created_at"), datetime)
    assert isinstance(expected.pop("created_at"), datetime)
    row.pop("cloud_event")
    assert row == expected
    assert row["status"] == ("pending" if event.published else "ignored")

"""The synchronous path's two statements run prepared in production settings (queries not
logged): parsed once per connection, then only executed, with the same results as
Django's cursor gives when a test or DEBUG logs them."""

import uuid
from typing import Any

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from genesys_gateway.sql import execute_prepared
from outbound.models import DeliveryState, GenesysRateLimit, InboundMessage
from tenants.models import Integration
from tests.outbound.conftest import CONVERSATION_ID, INBOUND_URL

URL = "/api/v1/tenants/acme/messages"
CLAIM = 'WITH first AS (INSERT INTO "outbound_inboundmessage"'
RESULT = 'UPDATE "outbound_inboundmessage" SET'


def executions(prefix: str) -> int:
    """How often this connection executed its prepared statements starting with `prefix`
    (each execution plans once, generic or custom); -1 when none is prepared."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(generic_plans + custom_plans) FROM pg_prepared_statements "
            "WHERE starts_with(statement, %s)",
            [prefix],
        )
        count, total = cursor.fetchone()
    return -1 if count == 0 else int(total)


def post(client: APIClient, n: int) -> Any:
    body = {"message_id": f"wamid.prep.{n}", "from": {"id": "+15550123456"}, "text": f"m{n}"}
    return client.post(URL, body, format="json")


def test_a_warm_message_executes_its_claim_and_result_as_prepared_statements(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    settings: Any,
) -> None:
    settings.GENESYS_RATE_LIMIT_PER_MINUTE = 1  # refills ~nothing during the test
    settings.GENESYS_RATE_LIMIT_HEADROOM_PERCENT = 0
    settings.GENESYS_RATE_LIMIT_BURST = 10
    genesys.post(INBOUND_URL, json={"id": "g-p", "conversationId": CONVERSATION_ID})
    assert not connection.queries_logged
    assert post(authed_client, 1).status_code == 201  # fills the caches, makes the bucket
    claims, results = executions(CLAIM), executions(RESULT)
    tokens = GenesysRateLimit.objects.get(tenant=integration.tenant).tokens

    for n in (2, 3):
        assert post(authed_client, n).status_code == 201

    # The same two prepared statements, executed once more per message.
    assert executions(CLAIM) == max(claims, 0) + 2
    assert executions(RESULT) == max(results, 0) + 2
    # And they did what the logged statements do: one slot each, the results stored.
    assert GenesysRateLimit.objects.get(tenant=integration.tenant).tokens == pytest.approx(
        tokens - 2, abs=0.01
    )
    rows = InboundMessage.objects.filter(message_id__in=["wamid.prep.2", "wamid.prep.3"])
    assert sorted((row.state, row.genesys_message_id) for row in rows) == [
        (DeliveryState.SENT, "g-p"),
        (DeliveryState.SENT, "g-p"),
    ]
    assert all(row.sent_at is not None for row in rows)


@pytest.mark.django_db
def test_execute_prepared_gives_the_same_rows_prepared_or_logged() -> None:
    tag = uuid.uuid4().hex  # a statement text no other test prepared
    sql = f"SELECT %s::text || '{tag}%%', %s::int + 1 WHERE %s::bool"

    with CaptureQueriesContext(connection) as queries:
        logged = execute_prepared(sql, ["a", 1, True])
    assert len(queries.captured_queries) == 1  # Django's cursor ran it, and counted it
    assert executions(f"SELECT $1::text || '{tag}") == -1

    assert execute_prepared(sql, ["a", 1, True]) == logged == (f"a{tag}%", 2)
    assert execute_prepared(sql, ["a", 1, False]) is None
    assert executions(f"SELECT $1::text || '{tag}") == 2

"""What one synchronous POST messages costs the database, counted on PostgreSQL.

Statements are what Django sends (CaptureQueriesContext); commits are explicit ones
(transaction.atomic blocks); every statement run outside a block is its own autocommit
transaction. docs/benchmarks.md has the figures before and after.
"""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from outbound.models import DeliveryState, InboundMessage
from tenants.models import Integration
from tests.outbound.conftest import CONVERSATION_ID, INBOUND_URL

URL = "/api/v1/tenants/acme/messages"

pytestmark = pytest.mark.django_db(transaction=True)


class Transactions:
    """Counts explicit commits and statements run in autocommit."""

    def __init__(self) -> None:
        self.commits = 0
        self.autocommit_statements = 0

    def __call__(self, execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if not connection.in_atomic_block and connection.get_autocommit():
            self.autocommit_statements += 1
        return execute(sql, *args)


@contextlib.contextmanager
def counting() -> Iterator[Transactions]:
    counter = Transactions()
    real_commit = connection.commit

    def commit() -> None:
        counter.commits += 1
        real_commit()

    connection.commit = commit  # type: ignore[method-assign]  # counted, restored below
    try:
        with connection.execute_wrapper(counter):
            yield counter
    finally:
        del connection.commit


def message(n: int) -> dict[str, Any]:
    return {"message_id": f"wamid.cost.{n}", "from": {"id": "+15550123456"}, "text": f"m{n}"}


def test_a_synchronous_message_costs_at_most_six_statements_and_two_commits(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    sent = genesys.post(INBOUND_URL, json={"id": "g-1", "conversationId": CONVERSATION_ID})
    # The first call of a process fills its caches (key, integration, token, conversation).
    assert authed_client.post(URL, message(0), format="json").status_code == 201

    with CaptureQueriesContext(connection) as queries, counting() as counter:
        response = authed_client.post(URL, message(1), format="json")
    assert response.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) <= 6, statements
    assert counter.commits <= 2, statements
    # Every transaction, explicit or single-statement autocommit.
    assert counter.commits + counter.autocommit_statements <= 3, statements
    # The claim is one INSERT ... ON CONFLICT, the bucket one UPDATE ... RETURNING:
    # no row is locked across statements, no savepoints, no get_or_create.
    assert not [sql for sql in statements if "FOR UPDATE" in sql.upper()]
    assert not [sql for sql in statements if sql.upper().startswith("SAVEPOINT")]
    assert any("ON CONFLICT" in sql.upper() for sql in statements)
    assert any(
        "outbound_genesysratelimit" in sql and "RETURNING" in sql.upper() for sql in statements
    )
    assert sent.call_count == 2
    assert InboundMessage.objects.filter(genesys_message_id="g-1").count() == 2


def test_a_warm_synchronous_message_is_two_statements_and_no_transaction(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    """Two autocommit statements: the claim's INSERT with the bucket's UPDATE (one CTE),
    then the result's UPDATE; no BEGIN and COMMIT round trips once the conversation is
    mapped."""
    genesys.post(INBOUND_URL, json={"id": "g-2", "conversationId": CONVERSATION_ID})
    assert authed_client.post(URL, message(10), format="json").status_code == 201

    with CaptureQueriesContext(connection) as queries, counting() as counter:
        response = authed_client.post(URL, message(11), format="json")
    assert response.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    assert counter.commits == 0, statements
    assert counter.autocommit_statements == 2, statements
    assert len(statements) == 2, statements
    claim_and_bucket, result = statements
    assert claim_and_bucket.startswith('WITH first AS (INSERT INTO "outbound_inboundmessage"')
    assert (
        "ON CONFLICT" in claim_and_bucket and "UPDATE outbound_genesysratelimit" in claim_and_bucket
    )
    assert result.startswith('UPDATE "outbound_inboundmessage"')
    row = InboundMessage.objects.get(message_id="wamid.cost.11")
    assert (row.state, row.genesys_message_id, row.conversation_id) == (
        DeliveryState.SENT,
        "g-2",
        CONVERSATION_ID,
    )
    assert row.sent_at is not None

"""The idempotency claim reserves the Genesys call in the tenant's bucket, in one statement.

Whatever statement reserves it, every message takes exactly one slot, a repeat or a status
that is only recorded takes none, a refused call leaves no claim behind, and a granted
wait is still slept before the call.
"""

from typing import Any

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from outbound.models import GenesysRateLimit, InboundMessage
from outbound.services.access import genesys_client
from outbound.services.messages import message_send
from tenants.models import Integration, Tenant
from tests.outbound.conftest import CONVERSATION_ID, INBOUND_URL, FakeClock
from tests.outbound.test_receipts_typing_api import post_receipt

URL = "/api/v1/tenants/acme/messages"
CUSTOMER = {"id": "+15550123456"}


@pytest.fixture
def one_per_second(settings: Any) -> None:
    settings.GENESYS_RATE_LIMIT_PER_MINUTE = 60
    settings.GENESYS_RATE_LIMIT_HEADROOM_PERCENT = 0
    settings.GENESYS_RATE_LIMIT_BURST = 2


@pytest.fixture
def inbound(genesys: responses.RequestsMock, token_endpoint: Any) -> Any:
    return genesys.post(INBOUND_URL, json={"id": "g-1", "conversationId": CONVERSATION_ID})


def post_message(client: APIClient, message_id: str) -> Any:
    return client.post(
        URL, {"message_id": message_id, "from": CUSTOMER, "text": "hi"}, format="json"
    )


def bucket(tenant: Tenant) -> GenesysRateLimit:
    return GenesysRateLimit.objects.get(tenant=tenant)


def test_each_message_takes_one_slot_and_a_repeat_none(
    integration: Integration, authed_client: APIClient, inbound: Any, settings: Any
) -> None:
    settings.GENESYS_RATE_LIMIT_PER_MINUTE = 1  # refills ~nothing during the test
    settings.GENESYS_RATE_LIMIT_HEADROOM_PERCENT = 0
    settings.GENESYS_RATE_LIMIT_BURST = 10
    assert post_message(authed_client, "wamid.r.1").status_code == 201  # creates the bucket
    for n in (2, 3, 4):
        with CaptureQueriesContext(connection) as queries:
            assert post_message(authed_client, f"wamid.r.{n}").status_code == 201
        claims = [
            q["sql"] for q in queries.captured_queries if "outbound_inboundmessage" in q["sql"]
        ]
        # The claim's INSERT and the bucket's UPDATE are one statement.
        assert "outbound_genesysratelimit" in claims[0] and "ON CONFLICT" in claims[0]
        assert not [q for q in queries.captured_queries if q["sql"].startswith("WITH p ")], (
            "no second bucket statement"
        )
    assert post_message(authed_client, "wamid.r.4").status_code == 200  # a repeat
    assert 5.9 <= bucket(integration.tenant).tokens <= 6.1  # 10 - 4 messages
    assert inbound.call_count == 4


def test_a_refused_message_answers_503_leaves_no_claim_and_calls_nothing(
    integration: Integration, authed_client: APIClient, inbound: Any, one_per_second: None
) -> None:
    for n in (1, 2):  # the burst
        assert post_message(authed_client, f"wamid.r.{n}").status_code == 201
    GenesysRateLimit.objects.filter(tenant=integration.tenant).update(tokens=-10)
    refused = post_message(authed_client, "wamid.r.3")
    assert refused.status_code == 503
    assert refused.json()["type"].endswith("/genesys-rate-limited")
    assert 10 <= int(refused["Retry-After"]) <= 12
    assert inbound.call_count == 2
    assert not InboundMessage.objects.filter(message_id="wamid.r.3").exists()
    row = bucket(integration.tenant)
    assert row.rejected_count == 1
    assert -10.1 <= row.tokens <= -9.5  # refused: nothing reserved
    GenesysRateLimit.objects.filter(tenant=integration.tenant).update(tokens=2)
    assert post_message(authed_client, "wamid.r.3").status_code == 201  # the retry goes


def test_a_reserved_wait_is_slept_before_the_call(
    integration: Integration, inbound: Any, one_per_second: None
) -> None:
    clock = FakeClock()
    tenant = integration.tenant
    for n in range(4):
        client = genesys_client(tenant=tenant, sleep=clock.sleep, monotonic=clock.monotonic)
        result, created = message_send(
            tenant=tenant, message_id=f"wamid.w.{n}", sender=CUSTOMER, text="hi", genesys=client
        )
        assert created and result["genesys_message_id"] == "g-1"
    # The burst of two goes at once; the next two wait for their slots, a second apart.
    assert len(clock.sleeps) == 2
    assert 0.8 <= clock.sleeps[0] <= 1.0 and 1.8 <= clock.sleeps[1] <= 2.0
    assert bucket(tenant).delayed_count == 2


def test_a_status_that_is_only_recorded_takes_no_slot(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    one_per_second: None,
) -> None:
    genesys.post(INBOUND_URL, json={"id": "g-1"})
    assert post_message(authed_client, "wamid.r.1").status_code == 201
    before = bucket(integration.tenant).tokens
    assert post_receipt(authed_client, status="sent").status_code == 202
    assert bucket(integration.tenant).tokens >= before

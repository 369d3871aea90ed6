"""`Prefer: respond-async`: 202 on accept, the worker's delivery, retries, order, failures.

Genesys is stubbed with `responses`; the worker runs in-process (deliveries_run) on the
real PostgreSQL. tests/deliveries/ runs real Celery workers against the emulator.
"""

import io
import json
from datetime import timedelta
from typing import Any

import pytest
import requests
import responses
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from outbound.genesys import GenesysRateLimitedError, rate_limit_acquire
from outbound.models import GenesysRateLimit, InboundMessage, OutboundDelivery, QueuedState
from outbound.services.deliveries import deliveries_claim, deliveries_run, delivery_attempt
from tenants.models import Integration, Tenant
from tests.outbound.conftest import API, CONVERSATION_ID, INBOUND_URL, INTEGRATION_ID, problem
from webhooks.models import OutboxMessage

URL = "/api/v1/tenants/acme/messages"
ASYNC = {"HTTP_PREFER": "respond-async"}
RECEIPT_URL = f"{API}/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/receipt"
EVENT_URL = f"{API}/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/event"


def message(wamid: str, *, customer: str = "+15550123456", text: str = "hello") -> dict[str, Any]:
    return {"message_id": wamid, "from": {"id": customer}, "text": text}


def genesys_answers(genesys: responses.RequestsMock, answers: list[Any]) -> list[dict[str, Any]]:
    """Answer inbound messages with `answers` in turn (status, or the 200 default when
    exhausted); return the bodies Genesys received, in order."""
    received: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        received.append(body)
        status, headers = answers.pop(0) if answers else (200, {})
        if status != 200:
            return status, headers, json.dumps({"message": "no", "code": "x", "status": status})
        reply = {"id": f"g-{body['channel']['messageId']}", "conversationId": CONVERSATION_ID}
        return 200, {}, json.dumps(reply)

    genesys.add_callback(
        responses.POST, INBOUND_URL, callback=answer, content_type="application/json"
    )
    return received


def make_due() -> None:
    """Pretend the retry delays (and any rate-limit pause after a 429) have passed."""
    OutboundDelivery.objects.filter(state=QueuedState.QUEUED).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    GenesysRateLimit.objects.update(tokens=settings.GENESYS_RATE_LIMIT_BURST)


@pytest.fixture
def stubbed(genesys: responses.RequestsMock, token_endpoint: Any) -> responses.RequestsMock:
    return genesys


def test_an_async_message_is_stored_answered_202_and_delivered_by_the_worker(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    received = genesys_answers(stubbed, [])
    response = authed_client.post(URL, message("wamid.A1"), format="json", **ASYNC)
    assert response.status_code == 202
    assert response.json()["message_id"] == "wamid.A1"
    assert response.json()["state"] == "queued"
    assert response["Preference-Applied"] == "respond-async"
    assert received == []  # nothing sent before the worker runs

    assert deliveries_run(max_s=10) == 1
    assert [body["channel"]["messageId"] for body in received] == ["wamid.A1"]
    [event] = OutboxMessage.objects.filter(event_type="delivery.succeeded")
    assert event.routing_key == "delivery.succeeded.acme"
    assert event.cloud_event["subject"] == CONVERSATION_ID
    assert event.cloud_event["data"] == {
        "message_id": "wamid.A1",
        "genesys_message_id": "g-wamid.A1",
        "conversation_id": CONVERSATION_ID,
    }
    state = authed_client.get(f"{URL}/wamid.A1").json()
    assert state == {
        "message_id": "wamid.A1",
        "state": "delivered",
        "genesys_message_id": "g-wamid.A1",
        "conversation_id": CONVERSATION_ID,
        "attempts": 1,
        "error": None,
    }


def test_a_repeat_answers_202_with_the_current_state_and_is_delivered_once(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    received = genesys_answers(stubbed, [])
    first = authed_client.post(URL, message("wamid.R"), format="json", **ASYNC)
    again = authed_client.post(URL, message("wamid.R"), format="json", **ASYNC)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["state"] == "queued"
    deliveries_run(max_s=10)
    later = authed_client.post(URL, message("wamid.R"), format="json", **ASYNC)
    assert later.status_code == 202
    assert later.json()["state"] == "delivered"
    assert later.json()["genesys_message_id"] == "g-wamid.R"
    deliveries_run(max_s=10)
    assert len(received) == 1
    assert OutboundDelivery.objects.count() == 1


def test_a_message_sent_synchronously_first_is_not_sent_again_by_the_worker(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    received = genesys_answers(stubbed, [])
    assert authed_client.post(URL, message("wamid.S"), format="json").status_code == 201
    assert authed_client.post(URL, message("wamid.S"), format="json", **ASYNC).status_code == 202
    deliveries_run(max_s=10)
    assert len(received) == 1
    assert OutboundDelivery.objects.get().state == QueuedState.DELIVERED


def test_invalid_async_requests_are_refused_like_synchronous_ones(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    response = authed_client.post(URL, {"message_id": "wamid.X"}, format="json", **ASYNC)
    assert response.status_code == 400
    assert "from" in problem(response)["errors"]
    unknown = {**message("wamid.Y"), "integration_id": "5a1f0c7e-0000-4000-8000-000000000000"}
    response = authed_client.post(URL, unknown, format="json", **ASYNC)
    assert response.status_code == 400
    assert OutboundDelivery.objects.count() == 0


def test_transient_failures_are_retried_with_retry_after_and_backoff(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    received = genesys_answers(stubbed, [(429, {"Retry-After": "7"}), (503, {})])
    authed_client.post(URL, message("wamid.T"), format="json", **ASYNC)

    before = timezone.now()
    deliveries_run(max_s=10)
    row = OutboundDelivery.objects.get()
    assert row.state == QueuedState.QUEUED
    assert row.next_attempt_at >= before + timedelta(seconds=7)
    assert row.attempts == 0  # a 429 is a wait, not a failed attempt
    assert row.last_status == 429
    assert deliveries_run(max_s=10) == 0  # not due yet
    # Genesys' 429 paused the tenant's bucket for every worker, for its Retry-After.
    with pytest.raises(GenesysRateLimitedError):
        rate_limit_acquire(tenant=integration.tenant, max_wait_s=6)

    make_due()
    deliveries_run(max_s=10)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (QueuedState.QUEUED, 1, 503)
    state = authed_client.get(f"{URL}/wamid.T").json()
    assert state["state"] == "queued"
    assert state["error"]["status"] == 503

    make_due()
    deliveries_run(max_s=10)
    row.refresh_from_db()
    assert row.state == QueuedState.DELIVERED
    assert len(received) == 3
    # The claim was released after each failure, so the retries could send.
    assert InboundMessage.objects.get().genesys_message_id == "g-wamid.T"


def test_a_permanent_400_fails_the_delivery(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    genesys_answers(stubbed, [(400, {})])
    authed_client.post(URL, message("wamid.F"), format="json", **ASYNC)
    deliveries_run(max_s=10)
    state = authed_client.get(f"{URL}/wamid.F").json()
    assert state["state"] == "failed"
    assert state["error"] == {"status": 400, "detail": "no"}
    [event] = OutboxMessage.objects.filter(event_type="delivery.failed")
    assert event.cloud_event["data"] == {"message_id": "wamid.F", "status": 400, "detail": "no"}
    assert not OutboxMessage.objects.filter(event_type="delivery.succeeded").exists()
    make_due()
    assert deliveries_run(max_s=10) == 0


def test_transient_failures_past_the_maximum_age_fail(
    integration: Integration, authed_client: APIClient, stubbed: Any, settings: Any
) -> None:
    settings.GENESYS_DELIVERY_MAX_AGE_S = 5
    genesys_answers(stubbed, [(503, {}), (503, {})])
    authed_client.post(URL, message("wamid.OLD"), format="json", **ASYNC)
    OutboundDelivery.objects.update(give_up_at=timezone.now() + timedelta(milliseconds=100))
    deliveries_run(max_s=10)
    row = OutboundDelivery.objects.get()
    assert row.state == QueuedState.FAILED
    assert row.last_status == 503
    assert row.last_error.startswith("gave up")


def test_a_customers_second_message_never_overtakes_the_first(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    received = genesys_answers(stubbed, [(503, {})])  # the very first attempt fails
    for n in range(3):
        authed_client.post(URL, message(f"wamid.a{n}", customer="+1000"), format="json", **ASYNC)
    authed_client.post(URL, message("wamid.b0", customer="+2000"), format="json", **ASYNC)

    deliveries_run(max_s=10)
    # a0 failed and waits; a1 and a2 wait behind it; the other customer is not held up.
    sent = [body["channel"]["messageId"] for body in received]
    assert sent == ["wamid.a0", "wamid.b0"]

    make_due()
    deliveries_run(max_s=10)
    sent = [body["channel"]["messageId"] for body in received]
    assert sent == ["wamid.a0", "wamid.b0", "wamid.a0", "wamid.a1", "wamid.a2"]


def test_only_the_head_of_each_customer_is_claimed(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    for n in range(3):
        authed_client.post(URL, message(f"wamid.h{n}", customer="+1000"), format="json", **ASYNC)
    authed_client.post(URL, message("wamid.k0", customer="+2000"), format="json", **ASYNC)
    first = deliveries_claim(limit=10)
    assert sorted(row.key for row in first) == ["wamid.h0", "wamid.k0"]
    # While they are being sent, nothing else of those customers can be claimed.
    assert deliveries_claim(limit=10) == []


def test_a_sending_row_whose_worker_died_is_claimed_again_after_its_lease(
    integration: Integration, authed_client: APIClient, stubbed: Any, settings: Any
) -> None:
    received = genesys_answers(stubbed, [])
    authed_client.post(URL, message("wamid.L"), format="json", **ASYNC)
    [claimed] = deliveries_claim(limit=10)  # ... and the worker dies here
    assert deliveries_claim(limit=10) == []
    OutboundDelivery.objects.update(claimed_at=timezone.now() - timedelta(hours=1))
    assert deliveries_run(max_s=10) == 1
    row = OutboundDelivery.objects.get()
    assert (row.state, row.attempts) == (QueuedState.DELIVERED, 2)
    assert row.claim_token is None
    assert len(received) == 1
    # The dead worker's late outcome cannot overwrite the new owner's.
    assert claimed.claim_token is not None
    delivery_attempt(delivery=claimed)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (QueuedState.DELIVERED, 2)


def test_async_receipts_and_typing_are_queued_and_delivered_in_order(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    order: list[str] = []

    def record(kind: str) -> Any:
        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            order.append(kind)
            return 202, {}, "{}"

        return callback

    stubbed.add_callback(responses.POST, RECEIPT_URL, callback=record("receipt"))
    stubbed.add_callback(responses.POST, EVENT_URL, callback=record("typing"))
    customer = {"id": "+15550123456"}
    receipt = {"message_id": "g-agent-1", "status": "delivered", "to": customer}
    typing = {"from": customer}
    response = authed_client.post("/api/v1/tenants/acme/receipts", receipt, format="json", **ASYNC)
    assert response.status_code == 202
    assert response.json()["state"] == "queued"
    assert response.json()["duplicate"] is False
    repeat = authed_client.post("/api/v1/tenants/acme/receipts", receipt, format="json", **ASYNC)
    assert repeat.json()["duplicate"] is True
    response = authed_client.post("/api/v1/tenants/acme/typing", typing, format="json", **ASYNC)
    assert response.status_code == 202
    assert response.json() == {"integration_id": INTEGRATION_ID, "state": "queued"}
    assert order == []
    deliveries_run(max_s=10)
    assert order == ["receipt", "typing"]
    assert set(OutboundDelivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_get_message_state_is_404_for_unknown_and_other_tenants_messages(
    integration: Integration,
    authed_client: APIClient,
    stubbed: Any,
    second_tenant: Tenant,
) -> None:
    assert authed_client.get(f"{URL}/wamid.nope").status_code == 404
    OutboundDelivery.objects.create(
        tenant=second_tenant,
        kind="message",
        key="wamid.theirs",
        customer_key="x/y",
        payload={"message_id": "wamid.theirs"},
        next_attempt_at=timezone.now(),
        give_up_at=timezone.now(),
    )
    response = authed_client.get(f"{URL}/wamid.theirs")
    assert response.status_code == 404
    assert problem(response)["status"] == 404


def test_get_message_state_answers_for_a_synchronous_message(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    genesys_answers(stubbed, [])
    authed_client.post(URL, message("wamid.sync"), format="json")
    assert authed_client.get(f"{URL}/wamid.sync").json() == {
        "message_id": "wamid.sync",
        "state": "delivered",
        "genesys_message_id": "g-wamid.sync",
        "conversation_id": CONVERSATION_ID,
        "attempts": 1,
        "error": None,
    }


def test_admin_lists_failed_deliveries_and_retries_them_with_the_change_permission(
    integration: Integration,
    authed_client: APIClient,
    stubbed: Any,
    staff_client_factory: Any,
) -> None:
    received = genesys_answers(stubbed, [(400, {})])
    authed_client.post(URL, message("wamid.adm"), format="json", **ASYNC)
    deliveries_run(max_s=10)
    row = OutboundDelivery.objects.get()
    assert row.state == QueuedState.FAILED
    changelist = "/admin/outbound/outbounddelivery/"
    viewer = staff_client_factory("view_outbounddelivery")
    page = viewer.get(changelist + "?state__exact=failed")
    assert page.status_code == 200
    assert "wamid.adm" in page.content.decode()
    action = {"action": "retry", "_selected_action": [row.pk]}
    viewer.post(changelist, action)
    row.refresh_from_db()
    assert row.state == QueuedState.FAILED  # viewing is not enough to retry

    operator = staff_client_factory("view_outbounddelivery", "change_outbounddelivery")
    assert operator.post(changelist, action).status_code == 302
    row.refresh_from_db()
    assert (row.state, row.attempts) == (QueuedState.QUEUED, 0)
    deliveries_run(max_s=10)
    row.refresh_from_db()
    assert row.state == QueuedState.DELIVERED
    assert len(received) == 2
    outcomes = OutboxMessage.objects.order_by("id").values_list("event_type", flat=True)
    assert list(outcomes) == ["delivery.failed", "delivery.succeeded"]


def test_an_async_reply_whose_outcome_is_unknown_fails_instead_of_tapping_twice(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    structured = stubbed.post(
        f"{API}/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/structured/response",
        body=requests.exceptions.ReadTimeout("no answer"),
    )
    request = {
        "message_id": "wamid.tap",
        "from": {"id": "+15550123456"},
        "reply": {"type": "QuickReply", "payload": "YES", "reply_to": "g-agent-7"},
    }
    assert authed_client.post(URL, request, format="json", **ASYNC).status_code == 202
    deliveries_run(max_s=10)
    make_due()
    deliveries_run(max_s=10)
    assert structured.call_count == 1
    state = authed_client.get(f"{URL}/wamid.tap").json()
    assert state["state"] == "failed"
    assert state["error"]["detail"].startswith("outcome unknown")


def test_manage_deliver_delivers_without_celery(
    integration: Integration, authed_client: APIClient, stubbed: Any
) -> None:
    received = genesys_answers(stubbed, [])
    authed_client.post(URL, message("wamid.cmd"), format="json", **ASYNC)
    out = io.StringIO()
    call_command("deliver", "--passes", "1", stdout=out)
    assert [body["channel"]["messageId"] for body in received] == ["wamid.cmd"]
    assert OutboundDelivery.objects.get().state == QueuedState.DELIVERED
    assert "delivered or rescheduled 1" in out.getvalue()

"""POST receipts and POST typing: exact Genesys requests, mapping, idempotency."""

import io
import json
import time
from typing import Any

import pytest
import responses
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from outbound.models import InboundReceipt
from tenants.models import Integration
from tests.conftest import genesys_example
from tests.outbound.conftest import API, INTEGRATION_ID, problem, run_in_threads
from tests.outbound.sdk import EVENT_OVERRIDES, sdk_problems

RECEIPT_URL = f"{API}/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/receipt"
EVENT_URL = f"{API}/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/event"
AGENT_MESSAGE_ID = "c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60"


@pytest.fixture
def receipt_endpoint(genesys: responses.RequestsMock, token_endpoint: Any) -> Any:
    return genesys.post(RECEIPT_URL, json={"id": AGENT_MESSAGE_ID, "type": "Receipt"})


def post_receipt(client: APIClient, **fields: Any) -> Any:
    request = {
        "message_id": AGENT_MESSAGE_ID,
        "status": "delivered",
        "to": {"id": "+15550123456"},
        "timestamp": "2026-01-31T12:02:05Z",
        **fields,
    }
    return client.post("/api/v1/tenants/acme/receipts", request, format="json")


def test_a_read_status_is_a_final_delivered_receipt_as_documented(
    integration: Integration, authed_client: APIClient, receipt_endpoint: Any
) -> None:
    response = post_receipt(authed_client, status="read")
    assert response.status_code == 202
    assert response.json() == {
        "message_id": AGENT_MESSAGE_ID,
        "status": "read",
        "genesys_status": "Delivered",
        "duplicate": False,
    }
    [call] = receipt_endpoint.calls
    assert call.request.headers["Authorization"] == "Bearer tok-1"
    # The team's example: Delivered, final.
    assert json.loads(call.request.body) == genesys_example("inbound-receipt.json")


@pytest.mark.parametrize(
    ("status", "genesys_status", "final"),
    [("delivered", "Delivered", False), ("read", "Delivered", True)],
)
def test_statuses_map_to_genesys_receipts(
    integration: Integration,
    authed_client: APIClient,
    receipt_endpoint: Any,
    status: str,
    genesys_status: str,
    final: bool,
) -> None:
    assert post_receipt(authed_client, status=status).status_code == 202
    body = json.loads(receipt_endpoint.calls[0].request.body)
    assert body["status"] == genesys_status
    assert body.get("isFinalReceipt", False) is final
    assert "reasons" not in body
    assert sdk_problems(body, "OpenInboundNormalizedReceipt") == []


def test_a_sent_status_is_recorded_and_never_reaches_genesys(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    receipt_endpoint: Any,
) -> None:
    response = post_receipt(authed_client, status="sent")
    assert response.status_code == 202
    assert response.json() == {
        "message_id": AGENT_MESSAGE_ID,
        "status": "sent",
        "genesys_status": None,
        "duplicate": False,
    }
    assert len(genesys.calls) == 0  # not even a token request
    assert InboundReceipt.objects.filter(message_id=AGENT_MESSAGE_ID, status="sent").exists()
    repeat = post_receipt(authed_client, status="sent")
    assert repeat.status_code == 202 and repeat.json()["duplicate"] is True
    assert len(genesys.calls) == 0


def test_only_delivered_and_failed_receipts_reach_genesys(
    integration: Integration, authed_client: APIClient, receipt_endpoint: Any
) -> None:
    for status in ("sent", "delivered", "read", "failed"):
        assert post_receipt(authed_client, status=status).status_code == 202
    sent = [json.loads(call.request.body) for call in receipt_endpoint.calls]
    assert [(body["status"], body.get("isFinalReceipt", False)) for body in sent] == [
        ("Delivered", False),
        ("Delivered", True),
        ("Failed", True),
    ]


def _failed_receipts() -> float:
    return REGISTRY.get_sample_value("gateway_genesys_receipts_failed_total") or 0.0


def test_a_receipt_genesys_answers_as_failed_is_logged_with_its_context_id_and_counted(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    log_output: io.StringIO,
) -> None:
    genesys.post(
        RECEIPT_URL,
        json={
            "id": AGENT_MESSAGE_ID,
            "type": "Receipt",
            "status": "Failed",
            "reasons": [{"code": "MessageExpired", "message": "Message too old"}],
        },
        headers={"ININ-Correlation-Id": "ctx-receipt-7"},
    )
    before = _failed_receipts()
    response = post_receipt(authed_client, status="read")
    assert response.status_code == 202
    assert _failed_receipts() == before + 1
    [line] = [
        json.loads(line)
        for line in log_output.getvalue().splitlines()
        if "genesys_receipt_failed" in line
    ]
    assert line["genesys_context_id"] == "ctx-receipt-7"
    assert line["message_id"] == AGENT_MESSAGE_ID and line["receipt_status"] == "Delivered"
    assert line["reasons"] == [{"code": "MessageExpired", "message": "Message too old"}]


def test_genesys_echoing_a_failed_receipt_is_not_a_failure_of_the_receipt(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    genesys.post(
        RECEIPT_URL,
        json={"id": AGENT_MESSAGE_ID, "status": "Failed", "reasons": [{"code": "GeneralError"}]},
    )
    before = _failed_receipts()
    assert post_receipt(authed_client, status="failed").status_code == 202
    assert post_receipt(authed_client, status="delivered").status_code == 202
    # The second answer says Failed to a Delivered receipt: that one counts.
    assert _failed_receipts() == before + 1


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("131047", "MessageExpired"),
        (131026, "InvalidDestination"),
        ("130429", "RateLimited"),
        ("131056", "RateLimited"),
        ("131051", "UnsupportedMessage"),
        ("131052", "MediaTypeNotAllowed"),
        ("131053", "MediaTypeNotAllowed"),
        ("131050", "RecipientOptedOut"),
        ("1", "GeneralError"),
    ],
)
def test_a_failure_carries_the_mapped_genesys_reason(
    integration: Integration,
    authed_client: APIClient,
    receipt_endpoint: Any,
    code: Any,
    reason: str,
) -> None:
    response = post_receipt(
        authed_client, status="failed", reason={"code": code, "message": "24h window closed"}
    )
    assert response.status_code == 202
    body = json.loads(receipt_endpoint.calls[0].request.body)
    assert body["status"] == "Failed" and body["isFinalReceipt"] is True
    assert body["reasons"] == [{"code": reason, "message": f"WhatsApp {code}: 24h window closed"}]
    assert sdk_problems(body, "OpenInboundNormalizedReceipt") == []


def test_a_failure_without_reason_is_a_general_error(
    integration: Integration, authed_client: APIClient, receipt_endpoint: Any
) -> None:
    assert post_receipt(authed_client, status="failed").status_code == 202
    body = json.loads(receipt_endpoint.calls[0].request.body)
    assert body["reasons"] == [{"code": "GeneralError", "message": "Delivery failed"}]


def test_a_repeated_receipt_is_forwarded_once(
    integration: Integration, authed_client: APIClient, receipt_endpoint: Any
) -> None:
    assert post_receipt(authed_client).json()["duplicate"] is False
    repeat = post_receipt(authed_client)
    assert repeat.status_code == 202 and repeat.json()["duplicate"] is True
    assert post_receipt(authed_client, status="read").json()["duplicate"] is False
    assert receipt_endpoint.call_count == 2
    assert InboundReceipt.objects.count() == 2


def test_a_receipt_that_failed_upstream_can_be_retried(
    integration: Integration, authed_client: APIClient, genesys: Any, token_endpoint: Any
) -> None:
    genesys.post(RECEIPT_URL, status=404, json={"message": "no such message"})
    genesys.post(RECEIPT_URL, json={})
    assert post_receipt(authed_client).status_code == 404
    assert post_receipt(authed_client).status_code == 202


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "seen"}, "status"),
        ({"to": {}}, "to"),
        ({"message_id": ""}, "message_id"),
        ({"reason": {"code": "1", "detail": "x"}}, "reason"),
        ({"reason": "oops"}, "reason"),
    ],
)
def test_bad_receipts_are_400(
    integration: Integration,
    authed_client: APIClient,
    receipt_endpoint: Any,
    fields: dict[str, Any],
    field: str,
) -> None:
    response = post_receipt(authed_client, **fields)
    assert response.status_code == 400
    assert field in problem(response)["errors"]
    assert receipt_endpoint.call_count == 0


def test_typing_sends_a_typing_on_event(
    integration: Integration, authed_client: APIClient, genesys: Any, token_endpoint: Any
) -> None:
    event = genesys.post(EVENT_URL, json={"id": "e-1", "type": "Event"})
    response = authed_client.post(
        "/api/v1/tenants/acme/typing", {"from": {"id": "+15550123456"}}, format="json"
    )
    assert response.status_code == 202
    assert response.json() == {"integration_id": INTEGRATION_ID}
    body = json.loads(event.calls[0].request.body)
    expected = genesys_example("inbound-typing-event.json")
    assert body["events"] == expected["events"]
    assert body["channel"]["from"] == expected["channel"]["from"]
    assert body["channel"]["time"].endswith("Z")
    assert sdk_problems(body, "OpenInboundNormalizedEvent", overrides=EVENT_OVERRIDES) == []


def test_typing_without_a_customer_is_400(
    integration: Integration, authed_client: APIClient
) -> None:
    response = authed_client.post("/api/v1/tenants/acme/typing", {}, format="json")
    assert response.status_code == 400
    assert "from" in problem(response)["errors"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_receipts_are_forwarded_once(
    integration: Integration, api_key: str, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    def slow_genesys(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.2)
        return 200, {}, "{}"

    receipt = genesys.add_callback(
        "POST", RECEIPT_URL, callback=slow_genesys, content_type="application/json"
    )

    def post(_: int) -> tuple[int, bool]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        response = post_receipt(client, status="read")
        return response.status_code, response.json()["duplicate"]

    results = run_in_threads(10, post)
    assert sorted(results) == [(202, False)] + [(202, True)] * 9, results
    assert receipt.call_count == 1

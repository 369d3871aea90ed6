"""De-duplication keys and stale replays: what makes two deliveries one event, or none."""

import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from tenants.models import Conversation
from tests.conftest import genesys_example
from tests.webhooks.conftest import compact, post_events, post_open_messaging
from webhooks.models import OutboxMessage

pytestmark = pytest.mark.django_db

RETENTION_HOURS = 72.0


@pytest.fixture
def max_age(settings: Any) -> float:
    """The production rule: events are refused once older than the outbox keeps rows."""
    settings.WEBHOOK_MAX_EVENT_AGE_HOURS = RETENTION_HOURS
    settings.OUTBOX_RETENTION_HOURS = RETENTION_HOURS
    return RETENTION_HOURS


def _ago(hours: float) -> datetime:
    return datetime.now(tz=UTC) - timedelta(hours=hours)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stale_count() -> float:
    labels = {"endpoint": "open_messaging", "result": "stale"}
    return REGISTRY.get_sample_value("gateway_webhook_requests_total", labels) or 0.0


def _receipt(status: str) -> dict[str, Any]:
    payload = genesys_example("outbound-receipt.json")
    payload["status"] = status
    payload["isFinalReceipt"] = status in ("Read", "Failed")
    return payload


def test_sent_delivered_and_read_receipts_of_one_message_are_three_events(
    webhook_client: Client, conversation: Conversation
) -> None:
    message_id = _receipt("Sent")["id"]
    for status in ("Sent", "Delivered", "Read"):
        response = post_open_messaging(webhook_client, compact(_receipt(status)))
        assert response.json() == {
            "result": "accepted",
            "event_ids": [f"{message_id}:{status}"],
        }
    rows = OutboxMessage.objects.order_by("id")
    assert [row.cloud_event["data"]["status"] for row in rows] == ["Sent", "Delivered", "Read"]
    assert {row.cloud_event["data"]["message_id"] for row in rows} == {message_id}
    # A redelivery of one of them is still a duplicate.
    response = post_open_messaging(webhook_client, compact(_receipt("Delivered")))
    assert response.json()["result"] == "duplicate"
    assert OutboxMessage.objects.count() == 3


def test_open_messaging_event_older_than_the_retention_is_refused(
    webhook_client: Client, conversation: Conversation, max_age: float
) -> None:
    payload = genesys_example("outbound-agent-text.json")
    payload["channel"]["time"] = _iso(_ago(max_age + 1))
    stale_before = _stale_count()
    response = post_open_messaging(webhook_client, compact(payload))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/event-too-old")
    assert not OutboxMessage.objects.exists()
    assert _stale_count() == stale_before + 1

    payload["channel"]["time"] = _iso(_ago(max_age - 1))
    response = post_open_messaging(webhook_client, compact(payload))
    assert (response.status_code, response.json()["result"]) == (200, "accepted")


def test_notification_older_than_the_retention_is_refused(
    webhook_client: Client, conversation: Conversation, max_age: float
) -> None:
    payload = genesys_example("notification-user-start.json")
    payload["eventBody"]["eventTime"] = int(_ago(max_age + 1).timestamp() * 1000)
    response = post_events(webhook_client, compact(payload))
    assert response.status_code == 400
    assert response.json()["type"].endswith("/event-too-old")
    assert not OutboxMessage.objects.exists()


def test_an_eventbridge_replay_is_refused_by_its_envelope_time_too(
    webhook_client: Client, conversation: Conversation, max_age: float
) -> None:
    envelope = genesys_example("notification-presence-eventbridge.json")
    old = _ago(max_age + 1)
    envelope["time"] = _iso(old)[:19] + "Z"
    envelope["detail"]["eventBody"]["modifiedDate"] = _iso(old)
    response = post_events(webhook_client, compact(envelope))
    assert response.status_code == 400
    assert response.json()["type"].endswith("/event-too-old")

    # Delivered now: an old presence modifiedDate alone is no replay.
    envelope["time"] = _iso(_ago(0))[:19] + "Z"
    response = post_events(webhook_client, compact(envelope))
    assert (response.status_code, response.json()["result"]) == (200, "accepted")


def test_the_default_age_limit_is_the_outbox_retention() -> None:
    base = importlib.import_module("settings.base")
    assert base.WEBHOOK_MAX_EVENT_AGE_HOURS == base.OUTBOX_RETENTION_HOURS


def test_an_age_limit_beyond_the_calendar_is_no_limit(
    webhook_client: Client, conversation: Conversation, settings: Any
) -> None:
    settings.WEBHOOK_MAX_EVENT_AGE_HOURS = 1e12
    payload = genesys_example("outbound-agent-text.json")
    response = post_open_messaging(webhook_client, compact(payload))
    assert (response.status_code, response.json()["result"]) == (200, "accepted")

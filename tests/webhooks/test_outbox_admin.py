"""The outbox admin's replay action runs only for staff allowed to change outbox rows."""

from collections.abc import Callable
from typing import Any

from django.test import Client

from tenants.models import Tenant
from webhooks.models import OutboxMessage


def dead_row(tenant: Tenant) -> OutboxMessage:
    return OutboxMessage.objects.create(
        tenant=tenant,
        event_id="evt-1",
        event_type="message.outbound",
        ordering_key="conversation:c-1",
        routing_key="acme.message.outbound",
        cloud_event={"id": "evt-1"},
        status=OutboxMessage.Status.DEAD,
        attempts=9,
        last_error="broker said no",
    )


def replay(client: Client, row: OutboxMessage) -> None:
    response = client.post(
        "/admin/webhooks/outboxmessage/", {"action": "replay", "_selected_action": [row.pk]}
    )
    assert response.status_code in (200, 302)


def test_staff_with_view_permission_only_cannot_replay(
    staff_client_factory: Callable[..., Client], tenant: Tenant
) -> None:
    row = dead_row(tenant)

    replay(staff_client_factory("view_outboxmessage"), row)

    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.DEAD and row.attempts == 9


def test_staff_with_change_permission_replays(
    staff_client_factory: Callable[..., Client], tenant: Tenant, settings: Any
) -> None:
    settings.OUTBOX_WAKE_CELERY = False  # no worker runs here
    row = dead_row(tenant)

    replay(staff_client_factory("view_outboxmessage", "change_outboxmessage"), row)

    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.PENDING and row.attempts == 0

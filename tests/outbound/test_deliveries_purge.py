from datetime import timedelta

from django.utils import timezone

from outbound.models import DeliveryState, InboundMessage, InboundReceipt
from outbound.tasks import deliveries_purge_task
from tenants.models import Tenant


def test_old_sent_records_are_purged_and_recent_or_pending_kept(tenant: Tenant) -> None:
    now = timezone.now()
    old = now - timedelta(days=31)
    InboundMessage.objects.create(
        tenant=tenant, message_id="old", state=DeliveryState.SENT, claimed_at=old, sent_at=old
    )
    InboundMessage.objects.create(
        tenant=tenant, message_id="new", state=DeliveryState.SENT, claimed_at=now, sent_at=now
    )
    InboundMessage.objects.create(
        tenant=tenant, message_id="pending", state=DeliveryState.PENDING, claimed_at=old
    )
    InboundReceipt.objects.create(
        tenant=tenant,
        message_id="m",
        status="read",
        state=DeliveryState.SENT,
        claimed_at=old,
        sent_at=old,
    )
    assert deliveries_purge_task() == 2
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == [
        "new",
        "pending",
    ]
    assert not InboundReceipt.objects.exists()

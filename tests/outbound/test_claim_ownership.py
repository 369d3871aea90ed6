"""A claim belongs to the request that holds its token: a slow first request whose claim
was taken over can neither release nor complete the new owner's claim."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from outbound.errors import DeliveryInProgress
from outbound.models import DeliveryState, InboundMessage
from outbound.services.idempotency import delivery_claim, delivery_complete, delivery_release
from tenants.models import Tenant

WAMID = "wamid.slow-first"


def claim(tenant: Tenant) -> tuple[InboundMessage, bool]:
    return delivery_claim(
        model=InboundMessage, lookup={"tenant": tenant, "message_id": WAMID}, wait_s=0
    )


def test_a_slow_first_requests_release_cannot_delete_the_claim_another_took_over(
    tenant: Tenant, settings: Any
) -> None:
    first, claimed = claim(tenant)
    assert claimed
    # The first request is stuck in Genesys for longer than any call may take ...
    InboundMessage.objects.filter(pk=first.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=5)
    )
    # ... so a repeat takes the claim over.
    second, claimed = claim(tenant)
    assert claimed
    assert second.pk == first.pk
    assert second.claim_token != first.claim_token

    # Now the first request fails and releases: the second one's claim must survive.
    assert delivery_release(row=first) is False
    row = InboundMessage.objects.get()
    assert (row.state, row.claim_token) == (DeliveryState.PENDING, second.claim_token)
    # A third request still sees the claim in progress instead of sending a third time.
    with pytest.raises(DeliveryInProgress):
        claim(tenant)

    # The first request's late success does not overwrite the owner's claim either.
    assert delivery_complete(row=first, genesys_message_id="g-first") is False
    assert InboundMessage.objects.get().state == DeliveryState.PENDING
    assert delivery_complete(row=second, genesys_message_id="g-second") is True
    row = InboundMessage.objects.get()
    assert (row.state, row.genesys_message_id) == (DeliveryState.SENT, "g-second")


def test_the_owner_releases_its_own_claim(tenant: Tenant) -> None:
    row, claimed = claim(tenant)
    assert claimed
    assert delivery_release(row=row) is True
    assert not InboundMessage.objects.exists()
    again, claimed = claim(tenant)
    assert claimed and again.claim_token != row.claim_token

"""The routing map has one ownership rule for both sides: the first tenant to name a
conversation keeps it; a conflicting claim is logged and counted."""

import io
import json
from collections.abc import Callable

from prometheus_client import REGISTRY

from tenants import services
from tenants.models import Conversation, Tenant

CONFLICTS = "gateway_conversation_claim_conflicts_total"


def conflicts() -> float:
    return REGISTRY.get_sample_value(CONFLICTS) or 0.0


def test_the_first_tenant_to_name_a_conversation_keeps_it(
    tenant_factory: Callable[..., Tenant], log_output: io.StringIO
) -> None:
    first, second = tenant_factory(slug="first"), tenant_factory(slug="second")
    services.conversation_record(tenant=first, conversation_id="conv-1", customer_id="cust-1")
    before = conflicts()

    kept = services.conversation_record(
        tenant=second, conversation_id="conv-1", customer_id="cust-2"
    )

    assert kept.tenant == first
    stored = Conversation.objects.get(conversation_id="conv-1")
    assert (stored.tenant, stored.customer_id) == (first, "cust-1")
    assert conflicts() == before + 1
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    conflict = next(line for line in lines if line["event"] == "conversation.claim_conflict")
    assert conflict["owner"] == "first" and conflict["claimant"] == "second"
    assert conflict["conversation_id"] == "conv-1"


def test_the_owner_fills_in_what_is_missing_without_a_conflict(tenant: Tenant) -> None:
    services.conversation_record(tenant=tenant, conversation_id="conv-2")
    before = conflicts()

    services.conversation_record(tenant=tenant, conversation_id="conv-2", customer_id="cust-9")
    services.conversation_record(tenant=tenant, conversation_id="conv-2", customer_id="other")

    assert Conversation.objects.get(conversation_id="conv-2").customer_id == "cust-9"
    assert conflicts() == before

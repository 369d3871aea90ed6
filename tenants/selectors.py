"""Reads for tenants and the conversation routing map."""

from tenants.models import Conversation, Integration, Tenant


def tenant_get_by_organization(*, organization_id: str) -> Tenant | None:
    return Tenant.objects.filter(organization_id=organization_id, is_active=True).first()


def conversation_get(*, conversation_id: str) -> Conversation | None:
    return (
        Conversation.objects.select_related("tenant", "integration")
        .filter(conversation_id=conversation_id)
        .first()
    )


def conversation_latest_for_customer(
    *, integration: Integration, customer_id: str
) -> Conversation | None:
    """The newest conversation of this customer on this integration."""
    return (
        Conversation.objects.filter(integration=integration, customer_id=customer_id)
        .order_by("-created_at", "-pk")
        .first()
    )


def integration_get_first(*, integration_ids: list[str]) -> Integration | None:
    """The first of these integration ids that is known (payloads name it in several places)."""
    if not integration_ids:
        return None
    found = {
        integration.integration_id: integration
        for integration in Integration.objects.select_related("tenant").filter(
            integration_id__in=integration_ids, tenant__is_active=True
        )
    }
    return next((found[i] for i in integration_ids if i in found), None)

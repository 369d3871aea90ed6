"""Reads for tenants and the conversation routing map."""

from functools import cache

from django.db import connection

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
    """The newest conversation of this customer on this integration.

    On every agent message: one constant statement (the index on integration, customer,
    -created_at answers it), where building the queryset cost more than running it.
    """
    columns, sql = conversation_latest_for_customer_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [integration.pk, customer_id])
        row = cursor.fetchone()
    return None if row is None else Conversation.from_db(connection.alias, columns, row)


# Columns whose values need no backend converter (SQLite returns datetimes as text); the
# others are deferred and load on first access.
_LATEST_FIELDS = ("id", "conversation_id", "tenant", "integration", "customer_id", "state")


@cache
def conversation_latest_for_customer_sql() -> tuple[list[str], str]:
    """The attribute names and the SELECT of `conversation_latest_for_customer`, whose
    parameters are the integration's pk and the customer id. The webhook path runs it
    inside its INSERT (webhooks/outbox/services.py)."""
    meta = Conversation._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if f.name in _LATEST_FIELDS]
    table = quote(meta.db_table)
    sql = (
        f"SELECT {', '.join(quote(f.column or f.attname) for f in fields)} FROM {table} "
        f"WHERE {quote('integration_id')} = %s AND {quote('customer_id')} = %s "
        f"ORDER BY {quote('created_at')} DESC, {quote('id')} DESC LIMIT 1"
    )
    return [f.attname for f in fields], sql

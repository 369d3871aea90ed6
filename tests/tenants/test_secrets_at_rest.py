import pytest
from django.db import connection
from django.test import override_settings

from tenants import crypto, services
from tenants.models import Integration, Tenant
from tests.conftest import DEFAULT_SECRET, WEBHOOK_SECRET

OLD_KEY = "8S4vNHLPm4-Ki3wnomA1U4Q_kfn0E0dO3xb4rnEGBQo="
NEW_KEY = "Qm8y1s3vXtqAGbDPZ2zW0cLh0kQ9lQmQJtq8c5nFQ2E="


def _raw_row(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # fixed table names
        return " ".join(str(value) for value in cursor.fetchone())


def test_client_secret_is_not_stored_in_clear(tenant: Tenant) -> None:
    raw = _raw_row("tenants_tenant", tenant.pk)
    assert DEFAULT_SECRET not in raw
    assert tenant.genesys_credentials().client_secret == DEFAULT_SECRET


def test_webhook_and_events_secrets_are_not_stored_in_clear(
    tenant: Tenant, integration: Integration
) -> None:
    services.tenant_set_events_secret(tenant=tenant, secret="events-secret-0123456789")
    assert "events-secret-0123456789" not in _raw_row("tenants_tenant", tenant.pk)
    assert WEBHOOK_SECRET not in _raw_row("tenants_integration", integration.pk)
    assert Tenant.objects.get(pk=tenant.pk).events_secret() == "events-secret-0123456789"
    assert Integration.objects.get(pk=integration.pk).webhook_secrets() == [WEBHOOK_SECRET]


def test_secrets_stay_readable_after_a_new_key_is_added(
    tenant: Tenant, integration: Integration
) -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert (
            Tenant.objects.get(pk=tenant.pk).genesys_credentials().client_secret == DEFAULT_SECRET
        )
        assert Integration.objects.get(pk=integration.pk).webhook_secrets() == [WEBHOOK_SECRET]


def test_rotation_reencrypts_every_secret_with_the_newest_key(
    tenant: Tenant, integration: Integration
) -> None:
    services.tenant_set_events_secret(tenant=tenant, secret="events-secret-0123456789")
    services.integration_add(
        tenant=tenant, integration_id=integration.integration_id, secret="rotated-secret-0123456789"
    )
    before = Tenant.objects.get(pk=tenant.pk).client_secret_encrypted

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert services.encryption_rotate() == 4  # client, events, integration current + previous

    rotated_tenant = Tenant.objects.get(pk=tenant.pk)
    assert rotated_tenant.client_secret_encrypted != before
    # Readable with the new key alone: the old key may now be retired.
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert rotated_tenant.genesys_credentials().client_secret == DEFAULT_SECRET
        assert rotated_tenant.events_secret() == "events-secret-0123456789"
        assert Integration.objects.get(pk=integration.pk).webhook_secrets() == [
            "rotated-secret-0123456789",
            WEBHOOK_SECRET,
        ]
    # ...and no longer with the old key alone.
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]), pytest.raises(crypto.SecretUnreadable):
        rotated_tenant.genesys_credentials()


def test_credentials_repr_hides_the_secret(tenant: Tenant) -> None:
    assert DEFAULT_SECRET not in repr(tenant.genesys_credentials())

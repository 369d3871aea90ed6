from django.apps import AppConfig


class TenantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tenants"

    def ready(self) -> None:
        from tenants import crypto
        from tenants.models import Integration, Tenant

        crypto.encrypted_fields_register(
            model=Tenant, fields=["client_secret_encrypted", "events_secret_encrypted"]
        )
        crypto.encrypted_fields_register(
            model=Integration, fields=["secret_encrypted", "previous_secret_encrypted"]
        )

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class TenantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tenants"

    def ready(self) -> None:
        from tenants import crypto
        from tenants.cache import integration_cache_clear_on_change
        from tenants.models import Integration, Tenant

        crypto.encrypted_fields_register(
            model=Tenant, fields=["client_secret_encrypted", "events_secret_encrypted"]
        )
        crypto.encrypted_fields_register(
            model=Integration, fields=["secret_encrypted", "previous_secret_encrypted"]
        )
        # Signals rather than calls in the services: admin deletes and cascades change
        # integrations too, and a stale secret or tenant flag must never outlive them.
        for model in (Integration, Tenant):
            for signal in (post_save, post_delete):
                signal.connect(
                    integration_cache_clear_on_change,
                    sender=model,
                    dispatch_uid=f"cache-{model.__name__}",
                )

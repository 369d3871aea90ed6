from django.apps import AppConfig


class OutboundConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outbound"

    def ready(self) -> None:
        # Registers the API key scheme with drf-spectacular.
        from genesys_gateway.problems import problem_mapper_register
        from outbound import schema  # noqa: F401  # imported for its registration side effect
        from outbound.errors import genesys_problem
        from outbound.genesys.exceptions import GenesysError

        problem_mapper_register(GenesysError, genesys_problem)

        from outbound.models import GenesysToken
        from tenants import crypto

        # `rotate_encryption` must rewrite cached tokens too, or dropping the old key
        # leaves them unreadable.
        crypto.encrypted_fields_register(model=GenesysToken, fields=["access_token_encrypted"])

        from django.db.models.signals import post_delete, post_save

        from outbound.cache import caches_clear_on_change
        from tenants.models import ApiKey, Integration, Tenant

        # A changed credential, key or integration must not be served from a cache.
        for model in (Tenant, ApiKey, Integration):
            post_save.connect(
                caches_clear_on_change,
                sender=model,
                dispatch_uid=f"outbound-cache-{model.__name__}",
            )
            post_delete.connect(
                caches_clear_on_change,
                sender=model,
                dispatch_uid=f"outbound-cache-{model.__name__}-d",
            )

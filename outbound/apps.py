from django.apps import AppConfig


class OutboundConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outbound"

    def ready(self) -> None:
        # Registers the API key scheme with drf-spectacular.
        from outbound import schema  # noqa: F401  # imported for its registration side effect

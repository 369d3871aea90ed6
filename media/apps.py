from django.apps import AppConfig


class MediaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media"

    def ready(self) -> None:
        from media import checks  # noqa: F401  # registers the settings checks

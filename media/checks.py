"""Start-up checks of the media settings."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from media.mime import SIGNATURES


@register()
def media_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    unknown = sorted(set(settings.MEDIA_ALLOWED_TYPES) - set(SIGNATURES))
    if unknown:
        errors.append(
            Error(
                f"MEDIA_ALLOWED_TYPES lists types whose content the gateway cannot check: "
                f"{', '.join(unknown)}",
                hint=f"Choose from {', '.join(sorted(SIGNATURES))}.",
                id="media.E001",
            )
        )
    if settings.MEDIA_MAX_BYTES <= 0:
        errors.append(Error("MEDIA_MAX_BYTES must be positive.", id="media.E002"))
    return errors

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from media.errors import MediaLinkInvalidError
from media.models import Media
from media.signing import media_token_read


def media_get_by_token(*, token: str) -> tuple[Media, datetime]:
    """The media a download token names, and the token's expiry.

    MediaLinkInvalidError when the token is forged, expired, or its media is gone or past
    retention (the purge may not have run yet).
    """
    now = timezone.now()
    media_id, expires_at = media_token_read(token, now=now)
    cutoff = now - timedelta(days=settings.MEDIA_RETENTION_DAYS)
    media = Media.objects.filter(id=media_id, created_at__gt=cutoff).first()
    if media is None:
        raise MediaLinkInvalidError("no such media")
    return media, expires_at

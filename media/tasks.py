"""Celery entry points for media/, thin."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings


@shared_task(name="media.purge", ignore_result=True)
def media_purge_task() -> int:
    """Delete media past MEDIA_RETENTION_DAYS (run hourly by beat)."""
    from media.services import media_purge

    return media_purge(
        older_than=timedelta(days=settings.MEDIA_RETENTION_DAYS),
        batch_size=settings.MEDIA_PURGE_BATCH_SIZE,
    )

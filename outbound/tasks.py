"""Celery entry points for outbound/, thin."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings


@shared_task(name="outbound.deliveries_purge", ignore_result=True)
def deliveries_purge_task() -> int:
    """Forget idempotency records past GENESYS_IDEMPOTENCY_RETENTION_DAYS (run daily by beat)."""
    from outbound.services.idempotency import deliveries_purge

    return deliveries_purge(older_than=timedelta(days=settings.GENESYS_IDEMPOTENCY_RETENTION_DAYS))


@shared_task(name="outbound.deliveries_run", ignore_result=True)
def deliveries_run_task() -> int:
    """Deliver queued `Prefer: respond-async` requests (woken on accept; swept by beat)."""
    from outbound.services.deliveries import deliveries_run

    return deliveries_run(max_s=settings.GENESYS_DELIVERY_PASS_MAX_S)

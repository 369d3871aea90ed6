"""Celery entry points for the outbox relay, thin: each calls one function of webhooks.relay."""

from celery import shared_task


@shared_task(name="webhooks.outbox_relay", ignore_result=True)
def outbox_relay_task() -> int:
    """One drain pass: woken on commit by relay_wake, and by the beat sweep."""
    from webhooks.relay import outbox_relay_pending

    return outbox_relay_pending()


@shared_task(name="webhooks.outbox_purge", ignore_result=True)
def outbox_purge_task() -> int:
    """Retention: delete published and ignored rows older than OUTBOX_RETENTION_HOURS."""
    from webhooks.relay import outbox_purge

    return outbox_purge()

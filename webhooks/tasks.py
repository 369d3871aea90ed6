"""Celery entry points for the outbox relay, thin: each calls one function of webhooks.outbox."""

from celery import shared_task

from webhooks.outbox.daemon import outbox_relay_pending
from webhooks.outbox.services import outbox_purge
from webhooks.outbox.wakeup import OUTBOX_PURGE_TASK, OUTBOX_RELAY_TASK


@shared_task(name=OUTBOX_RELAY_TASK, ignore_result=True)
def outbox_relay_task() -> int:
    """One drain pass: woken on commit by relay_wake, and by the beat sweep."""
    return outbox_relay_pending()


@shared_task(name=OUTBOX_PURGE_TASK, ignore_result=True)
def outbox_purge_task() -> int:
    """Retention: delete published, ignored and dead rows past their retention."""
    return outbox_purge()

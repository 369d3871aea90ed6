"""Celery entry points for the outbox relay, thin."""

from celery import shared_task


@shared_task(name="webhooks.outbox_relay", ignore_result=True)
def outbox_relay_task() -> None:
    from webhooks.relay import outbox_relay_pending  # type: ignore[attr-defined]  # issue 6

    outbox_relay_pending()

"""The outbox relay: publishes pending outbox rows to RabbitMQ (issue 6 fills this in)."""

import structlog

logger = structlog.get_logger(__name__)


def relay_wake() -> None:
    """Ask a relay worker to publish now. Called on commit of every outbox write.

    A lost wake-up costs only latency: the periodic sweep picks the rows up.
    """
    from webhooks.tasks import outbox_relay_task

    try:
        outbox_relay_task.apply_async(retry=False)
    except Exception as exc:  # the broker may be down; never fail the committed request
        logger.warning("relay.wake_failed", error=str(exc))

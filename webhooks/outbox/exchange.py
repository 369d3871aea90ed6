"""The events exchange and its alternate exchange, as the relay declares them on connect.

`genesys.events` (EVENTS_EXCHANGE) is a durable topic exchange whose alternate exchange is
`genesys.events.unrouted`, a fanout exchange with one durable queue of the same name. A
message no consumer binding matches goes there instead of being returned, so an event type
nobody subscribed to never holds up its conversation. See docs/relay.md.
"""

import amqp
import amqp.exceptions
import structlog

logger = structlog.get_logger(__name__)


def unrouted_name(exchange: str) -> str:
    """The alternate exchange of `exchange`, and the queue bound to it."""
    return f"{exchange}.unrouted"


def events_exchange_arguments(exchange: str) -> dict[str, str]:
    """The arguments anyone declaring `exchange` must pass (RabbitMQ refuses a mismatch)."""
    return {"alternate-exchange": unrouted_name(exchange)}


def events_exchange_declare(*, connection: amqp.Connection, exchange: str) -> amqp.Channel:
    """Declare the exchange, its alternate exchange and queue; return an open channel.

    An exchange declared earlier without the alternate exchange cannot take it on (its
    arguments are fixed at creation): then we keep using it as it is and say how to fix it
    (a policy or a re-creation, docs/relay.md); unroutable events are returned as before.
    """
    unrouted = unrouted_name(exchange)
    channel = connection.channel()
    channel.exchange_declare(unrouted, "fanout", durable=True, auto_delete=False)
    channel.queue_declare(unrouted, durable=True, exclusive=False, auto_delete=False)
    channel.queue_bind(unrouted, unrouted, "")
    try:
        channel.exchange_declare(
            exchange,
            "topic",
            durable=True,
            auto_delete=False,
            arguments=events_exchange_arguments(exchange),
        )
    except amqp.exceptions.PreconditionFailed as exc:
        # The broker closed the channel; the exchange exists with other arguments.
        logger.error(
            "relay.exchange_without_alternate",
            exchange=exchange,
            alternate=unrouted,
            error=str(exc),
            fix="see docs/relay.md, 'Unroutable events'",
        )
        channel = connection.channel()
        channel.exchange_declare(exchange, "topic", passive=True)
    return channel

"""`manage.py events_tail`: print each CloudEvent published to the events exchange.

A consumer for people: in `make run` it plays the WhatsApp side, and in production it
shows what a binding key would receive. Its queue is its own and is gone when it stops.
"""

import json
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from kombu import Connection, Exchange, Message, Queue

from webhooks.outbox.exchange import events_exchange_arguments


class Command(BaseCommand):
    help = "Print every CloudEvent published to EVENTS_EXCHANGE (Ctrl-C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--binding", default="#", help="binding key, e.g. 'message.outbound.*' or '#.acme'"
        )
        parser.add_argument("--compact", action="store_true", help="one line per event")

    def handle(self, *args: Any, **options: Any) -> None:
        url = settings.EVENTS_BROKER_URL
        filesystem = url.startswith("filesystem://")
        # RabbitMQ refuses a declaration whose arguments differ from the relay's.
        arguments = None if filesystem else events_exchange_arguments(settings.EVENTS_EXCHANGE)
        exchange = Exchange(
            settings.EVENTS_EXCHANGE, type="topic", durable=True, arguments=arguments
        )
        # A server-named exclusive queue on RabbitMQ; the file transport needs a name.
        queue = Queue(
            "events-tail" if filesystem else "",
            exchange,
            routing_key=options["binding"],
            exclusive=not filesystem,
            auto_delete=not filesystem,
            durable=filesystem,
        )
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

        def show(body: Any, message: Message) -> None:
            event = json.loads(body) if isinstance(body, (bytes, str)) else body
            indent = None if options["compact"] else 2
            routing_key = message.delivery_info.get("routing_key")
            self.stdout.write(
                f"--> {routing_key}  message_id={message.properties.get('message_id')}"
            )
            self.stdout.write(json.dumps(event, indent=indent, ensure_ascii=False))
            message.ack()

        with Connection(
            url, transport_options=settings.EVENTS_BROKER_TRANSPORT_OPTIONS
        ) as connection:
            exchange(connection.default_channel).declare()
            with connection.Consumer(
                queue, callbacks=[show], accept=["application/cloudevents+json", "json"]
            ):
                self.stderr.write(
                    f"listening on {settings.EVENTS_EXCHANGE} with binding {options['binding']!r}"
                )
                while not stopping:
                    try:
                        connection.drain_events(timeout=0.5)
                    except TimeoutError:
                        continue

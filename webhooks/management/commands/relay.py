"""`manage.py relay`: the outbox relay in the foreground, without Celery."""

import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from webhooks.outbox.daemon import relay_run, relay_stop_on_signals


class Command(BaseCommand):
    help = (
        "Publish pending outbox rows to RabbitMQ until stopped (SIGTERM/SIGINT finish the "
        "current batch). Several may run at once; see docs/relay.md."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=None,
            help="seconds between looks for new rows (default: OUTBOX_RELAY_POLL_S)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        relay_stop_on_signals(stop=stop)
        relay_run(stop=stop, poll_interval=options["poll_interval"])

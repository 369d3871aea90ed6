"""`manage.py deliver`: asynchronous deliveries in the foreground, without Celery.

For small installs and `make run`, where no Celery worker runs: polls for due rows every
GENESYS_DELIVERY_SWEEP_S and delivers them exactly as the `outbound.deliveries_run` task
does (docs/api.md). Stops on SIGINT/SIGTERM between passes.
"""

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from outbound.services.deliveries import deliveries_run


class Command(BaseCommand):
    help = "Deliver `Prefer: respond-async` requests to Genesys in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--passes", type=int, default=0, help="stop after this many passes (0: run on)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        passes = 0
        while not stop.is_set():
            delivered = deliveries_run(max_s=settings.GENESYS_DELIVERY_PASS_MAX_S)
            passes += 1
            if delivered:
                self.stdout.write(f"delivered or rescheduled {delivered}")
            if options["passes"] and passes >= options["passes"]:
                break
            stop.wait(settings.GENESYS_DELIVERY_SWEEP_S)
            close_old_connections()  # a connection the database dropped meanwhile

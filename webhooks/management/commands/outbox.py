"""`manage.py outbox ...`: operate on the outbox (dead-letter replay, retention)."""

from argparse import ArgumentParser
from datetime import UTC, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tenants.models import Tenant
from webhooks.outbox.services import outbox_purge, outbox_replay


class Command(BaseCommand):
    help = "Replay dead-lettered outbox rows, or purge old published ones."

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        replay = commands.add_parser(
            "replay", help="set dead rows back to pending with a fresh retry budget"
        )
        replay.add_argument("--tenant", metavar="SLUG", help="only this tenant's rows")
        replay.add_argument(
            "--since",
            metavar="ISO-DATETIME",
            help="only rows created at or after this time (UTC when no offset is given)",
        )
        purge = commands.add_parser(
            "purge", help="delete published, ignored and dead rows past their retention"
        )
        purge.add_argument(
            "--older-than-hours",
            type=float,
            default=None,
            help="published and ignored rows; default: OUTBOX_RETENTION_HOURS",
        )
        purge.add_argument(
            "--dead-older-than-days",
            type=float,
            default=None,
            help="dead rows; default: OUTBOX_DEAD_RETENTION_DAYS",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "replay":
            self._replay(tenant=options["tenant"], since=options["since"])
        else:
            hours, days = options["older_than_hours"], options["dead_older_than_days"]
            count = outbox_purge(
                older_than=None if hours is None else timedelta(hours=hours),
                dead_older_than=None if days is None else timedelta(days=days),
            )
            self.stdout.write(f"deleted {count} outbox rows")

    def _replay(self, *, tenant: str | None, since: str | None) -> None:
        if tenant is not None and not Tenant.objects.filter(slug=tenant).exists():
            raise CommandError(f"unknown tenant {tenant!r}")
        since_at = None
        if since is not None:
            since_at = parse_datetime(since)
            if since_at is None:
                raise CommandError(f"--since {since!r} is not an ISO 8601 date-time")
            if timezone.is_naive(since_at):
                since_at = timezone.make_aware(since_at, UTC)
        count = outbox_replay(tenant_slug=tenant, since=since_at)
        self.stdout.write(f"replayed {count} dead outbox rows")

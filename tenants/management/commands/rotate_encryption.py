from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenants import crypto
from tenants.services import encryption_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the newest key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = encryption_rotate()
        except crypto.SecretUnreadable as exc:
            raise CommandError(
                f"{exc}; keep the old key in FIELD_ENCRYPTION_KEYS until rotation is done"
            ) from None
        self.stdout.write(f"re-encrypted {count} secrets with the newest key")

"""Integrations in process memory, for the webhook path.

Every webhook names an integration; looking it up (and decrypting its secrets) in the
database on each request cost more than storing the event. Entries live here for
INTEGRATION_CACHE_TTL_S and are dropped:
- at once in this process when an Integration or Tenant is saved or deleted (the
  signal receivers in tenants/apps.py), whichever code path changed it;
- after the TTL in other processes (gunicorn workers, Celery), and at once when a
  webhook's signature does not match the cached secrets: the caller asks again with
  `refresh=True`, so a secret rotated elsewhere is accepted with its first webhook.

Unknown ids are not remembered: a new integration works with its first webhook.
Cached model instances are shared between threads and must be treated as read-only.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from tenants.models import Integration

# Far more integrations than one gateway serves; past it the cache starts again.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class IntegrationAuth:
    """An active tenant's integration, its tenant loaded, and its decrypted secrets."""

    integration: Integration
    secrets: tuple[str, ...]
    expires_at: float


_entries: dict[str, IntegrationAuth] = {}


def integration_auth_get(
    *, integration_ids: list[str], refresh: bool = False
) -> IntegrationAuth | None:
    """The first of these ids that belongs to an active tenant (payloads name it in several
    places), from memory when it was loaded within the TTL; `refresh` reads the database."""
    now = time.monotonic()
    missing: list[str] = []
    for integration_id in integration_ids:
        entry = None if refresh else _entries.get(integration_id)
        if entry is not None and entry.expires_at > now:
            if not missing:
                return entry
            break
        missing.append(integration_id)
    if not missing:
        return None
    _load(missing, now=now)
    return next((_entries[i] for i in integration_ids if i in _entries), None)


def _load(integration_ids: list[str], *, now: float) -> None:
    rows = Integration.objects.select_related("tenant").filter(
        integration_id__in=integration_ids, tenant__is_active=True
    )
    found = {row.integration_id: row for row in rows}
    if len(_entries) + len(found) > MAX_ENTRIES:
        _entries.clear()
    expires_at = now + settings.INTEGRATION_CACHE_TTL_S
    for integration_id in integration_ids:
        row = found.get(integration_id)
        if row is None:
            _entries.pop(integration_id, None)
            continue
        _entries[integration_id] = IntegrationAuth(
            integration=row, secrets=tuple(row.webhook_secrets()), expires_at=expires_at
        )


def integration_cache_clear() -> None:
    """Forget every entry."""
    _entries.clear()


def integration_cache_clear_on_change(**_: object) -> None:
    """Signal receiver: forget now, and again on commit, because a webhook thread may
    cache the old row between the change and its commit."""
    _entries.clear()
    transaction.on_commit(_entries.clear)

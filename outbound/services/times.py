"""Times as Genesys writes and reads them: ISO-8601 in UTC with milliseconds and a Z."""

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from genesys_gateway.times import time_format


def genesys_time(value: datetime | None) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as Genesys writes times (default: now)."""
    return time_format(value or timezone.now())


def genesys_time_parse(value: Any) -> datetime | None:
    """A time from a Genesys answer as an aware datetime; None when absent or unreadable.

    Genesys writes UTC with a Z; a time without an offset is read as UTC too, so that
    times of one answer always compare (a naive and an aware datetime do not).
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

"""The one way the gateway writes a time: ISO-8601 in UTC with milliseconds and a Z,
as Genesys Cloud writes its own (`2026-01-31T12:00:00.000Z`)."""

from datetime import UTC, datetime


def time_format(moment: datetime) -> str:
    """`2026-01-31T12:00:00.000Z` for an aware datetime."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

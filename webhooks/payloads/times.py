"""Times the way Genesys writes them: ISO-8601 UTC with milliseconds and a Z."""

import math
from datetime import UTC, datetime
from typing import Any

from genesys_gateway.times import time_format


def time_normalise(value: Any) -> str | None:
    """An ISO-8601 string or epoch milliseconds as `2026-01-31T12:00:00.000Z`, else None."""
    moment: datetime | None = None
    if isinstance(value, bool):
        return None
    # isfinite() of an integer beyond a double raises; such an int is no time either.
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        try:
            moment = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # Genesys times are UTC
    if moment is None:
        return None
    try:
        return time_format(moment)
    except (OverflowError, ValueError):
        return None


def time_now() -> str:
    return time_format(datetime.now(tz=UTC))


def time_newest(*values: str | None) -> datetime | None:
    """The latest of some normalised times (`time_normalise` output); None if none given."""
    moments = [datetime.fromisoformat(value) for value in values if value]
    return max(moments, default=None)

"""A value computed at most once per time-to-live in this process.

The unauthenticated probes (/readyz, /metrics) would otherwise open broker connections or
run COUNT queries on every hit, so anyone able to reach them could load the database and
the broker. One computation runs at a time; callers that arrive during a refresh get the
previous value when there is one, so a slow dependency holds one thread, not all of them.
"""

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        # (monotonic time computed, value), replaced as one object so readers need no lock.
        self._entry: tuple[float, T] | None = None

    def get(self, *, ttl_s: float) -> T:
        """The cached value if younger than `ttl_s`, else a freshly computed one."""
        entry = self._entry
        if entry is not None and time.monotonic() - entry[0] < ttl_s:
            return entry[1]
        # With a previous value, don't queue behind a refresh already running: serve it.
        if not self._lock.acquire(blocking=entry is None):
            assert entry is not None
            return entry[1]
        try:
            entry = self._entry
            if entry is not None and time.monotonic() - entry[0] < ttl_s:
                return entry[1]  # refreshed by another thread while this one waited
            value = self._compute()
            self._entry = (time.monotonic(), value)
            return value
        finally:
            self._lock.release()

    def clear(self) -> None:
        self._entry = None

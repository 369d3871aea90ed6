"""A cap on Genesys calls in flight per process, so a slow Genesys cannot take every thread.

Each call (its attempts, backoff, token and rate-limit waits included) holds one of
GENESYS_MAX_CONCURRENT_CALLS slots. When none is free the call fails at once with
GenesysBusyError (the API answers 503 with Retry-After) instead of queueing another thread
behind a Genesys that is already slow.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from prometheus_client import Counter

from outbound.genesys.exceptions import GenesysTransientError

GENESYS_CALLS_REFUSED = Counter(
    "gateway_genesys_calls_refused",
    "Genesys calls refused at once because the process had its maximum in flight.",
)

# One semaphore per configured size (tests change the setting); created once each.
_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


class GenesysBusyError(GenesysTransientError):
    """This process already has GENESYS_MAX_CONCURRENT_CALLS Genesys calls in flight."""


def _semaphore(size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        if size not in _slots:
            _slots[size] = threading.BoundedSemaphore(size)
        return _slots[size]


@contextmanager
def genesys_call_slot() -> Iterator[None]:
    """Hold a call slot for the duration of the block, or raise GenesysBusyError now."""
    size = settings.GENESYS_MAX_CONCURRENT_CALLS
    if size <= 0:  # no cap configured
        yield
        return
    slots = _semaphore(size)
    if not slots.acquire(blocking=False):
        GENESYS_CALLS_REFUSED.inc()
        error = GenesysBusyError(
            f"{size} Genesys Cloud calls are already in flight in this process; retry shortly.",
            retry_after=settings.GENESYS_DEFAULT_RETRY_AFTER_S,
        )
        raise error
    try:
        yield
    finally:
        slots.release()

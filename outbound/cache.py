"""Process-memory caches for what every API call reads and almost never changes.

API keys, integrations, decrypted Genesys tokens and already-mapped conversations are kept
for at most API_CACHE_TTL_S. A save or delete of a tenant, key or integration in this
process clears them at once (outbound/apps.py wires the signals); another process's
change (a revocation in the admin, say) takes effect within the TTL. A token Genesys
refuses is dropped from the cache on the spot (outbound/genesys/tokens.py).
"""

import threading
import time
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import transaction

V = TypeVar("V")

# Past this many entries the cache starts over: it only ever holds hot items.
_MAX_ENTRIES = 10_000


class KeyedTtlCache(Generic[V]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, key: Hashable, value: V, *, ttl_s: float | None = None) -> None:
        ttl = settings.API_CACHE_TTL_S if ttl_s is None else min(ttl_s, settings.API_CACHE_TTL_S)
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + ttl, value)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


API_KEYS: KeyedTtlCache[Any] = KeyedTtlCache("api keys")
INTEGRATIONS: KeyedTtlCache[Any] = KeyedTtlCache("integrations")
TOKENS: KeyedTtlCache[str] = KeyedTtlCache("genesys tokens")
CONVERSATIONS: KeyedTtlCache[bool] = KeyedTtlCache("mapped conversations")
ALL = (API_KEYS, INTEGRATIONS, TOKENS, CONVERSATIONS)


def caches_clear() -> None:
    """Forget everything."""
    for cache in ALL:
        cache.clear()


def caches_clear_on_change(**_: Any) -> None:
    """Signal receiver (a tenant, key or integration changed): forget now, and again on
    commit, because another thread may cache the old row before the change commits."""
    caches_clear()
    transaction.on_commit(caches_clear)

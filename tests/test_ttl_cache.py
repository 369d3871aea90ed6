"""TtlCache: one computation at a time, shared by every thread of the process."""

import threading
from concurrent.futures import ThreadPoolExecutor

from genesys_gateway.ttl_cache import TtlCache


def test_concurrent_first_callers_share_one_computation() -> None:
    calls: list[int] = []
    release = threading.Event()

    def compute() -> int:
        calls.append(1)
        release.wait(timeout=30)
        return len(calls)

    cache = TtlCache(compute)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(cache.get, ttl_s=3600) for _ in range(8)]
        release.set()
        results = [future.result(timeout=30) for future in futures]
    assert calls == [1]
    assert results == [1] * 8


def test_a_refresh_in_progress_serves_the_previous_value() -> None:
    values = iter(["first", "second"])
    entered, release = threading.Event(), threading.Event()

    def compute() -> str:
        value = next(values)
        if value == "second":
            entered.set()
            release.wait(timeout=30)
        return value

    cache = TtlCache(compute)
    assert cache.get(ttl_s=3600) == "first"
    with ThreadPoolExecutor(max_workers=1) as pool:
        refreshing = pool.submit(cache.get, ttl_s=0)  # expired: this thread recomputes
        assert entered.wait(timeout=30)
        # Another caller meanwhile: no second computation, no waiting, the old value.
        assert cache.get(ttl_s=0) == "first"
        release.set()
        assert refreshing.result(timeout=30) == "second"
    assert cache.get(ttl_s=3600) == "second"


def test_values_are_reused_within_the_ttl_and_recomputed_after() -> None:
    counter = iter(range(100))
    cache = TtlCache(lambda: next(counter))
    assert [cache.get(ttl_s=3600) for _ in range(5)] == [0] * 5
    assert cache.get(ttl_s=0) == 1
    cache.clear()
    assert cache.get(ttl_s=3600) == 2

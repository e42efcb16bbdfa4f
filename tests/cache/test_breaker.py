"""growthcompass.cache.breaker: after a Redis error, Redis is skipped for a pause that grows."""

from __future__ import annotations

import time

from growthcompass.cache.breaker import RedisBreaker
from growthcompass.cache.config import CacheOptions
from growthcompass.cache.counters import Counters

OPTIONS = CacheOptions(local_tier=False, local_max_entries=1, local_ttl_s=0.0, listener_in_process=False)


def _breaker() -> RedisBreaker:
    return RedisBreaker(OPTIONS, Counters())


def _pause_of_next_failure(breaker: RedisBreaker) -> tuple[float, float]:
    """Bounds of the pause the next error starts (``skip_until`` minus the moment it was set)."""
    before = time.monotonic()
    breaker.failed(ConnectionError("down"), "student")
    after = time.monotonic()
    return breaker.skip_until - after, breaker.skip_until - before


def test_the_breaker_pause_doubles_up_to_its_maximum_and_resets_on_recovery() -> None:
    breaker = _breaker()
    expected = [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]  # CacheOptions' retry_after_s, doubling to retry_after_max_s
    assert (OPTIONS.retry_after_s, OPTIONS.retry_after_max_s) == (0.5, 5.0)
    for pause in expected:
        low, high = _pause_of_next_failure(breaker)
        assert low <= pause <= high
    assert breaker.failing
    assert breaker.counters.peek() == {"student|errors": len(expected)}

    breaker.recovered()

    assert not breaker.failing
    low, high = _pause_of_next_failure(breaker)
    assert low <= OPTIONS.retry_after_s <= high

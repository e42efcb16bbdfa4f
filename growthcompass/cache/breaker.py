"""The Redis circuit breaker: after an error, Redis is skipped for a growing pause.

While Redis is skipped the cached selectors read straight from PostgreSQL, so
an unreachable or hung Redis costs each request nothing but the first
timeout. The pause starts at ``CACHE_RETRY_AFTER_S`` and doubles on every
further error up to ``CACHE_RETRY_AFTER_MAX_S``; the first success resets it.
Errors are counted, and a warning is logged at most once per
``CACHE_WARNING_INTERVAL_S`` per process so an outage does not flood the log.
"""

from __future__ import annotations

import logging
import time

from growthcompass.cache.config import CacheOptions
from growthcompass.cache.counters import ERRORS, Counters

__all__ = ["RedisBreaker"]

log = logging.getLogger("growthcompass.cache")


class RedisBreaker:
    """Whether Redis may be tried now; the store reads ``skip_until`` and ``failing`` on its hot path."""

    def __init__(self, options: CacheOptions, counters: Counters) -> None:
        self.options = options
        self.counters = counters
        # Redis is skipped until this monotonic time after an error.
        self.skip_until = 0.0
        # True from an error until the next success (which calls ``recovered``).
        self.failing = False
        # True from an error until the store has checked that Redis is still the
        # server it was (``CacheStore.check_server``): a failover shows up as errors.
        self.server_unchecked = False
        self._pause_s = options.retry_after_s
        self._last_warning = float("-inf")

    @property
    def skipping(self) -> bool:
        return time.monotonic() < self.skip_until

    def failed(self, exc: Exception, family: str) -> None:
        """Count the error against ``family`` and skip Redis for the next pause."""
        self.counters.add(family, ERRORS)
        now = time.monotonic()
        self.skip_until = now + self._pause_s
        self._pause_s = min(self._pause_s * 2, self.options.retry_after_max_s)
        self.failing = True
        self.server_unchecked = True
        if now - self._last_warning >= self.options.warning_interval_s:
            self._last_warning = now
            log.warning(
                "cache: Redis unavailable (%s: %s); reads fall through to PostgreSQL, retrying in %.1f s",
                type(exc).__name__,
                exc,
                self.skip_until - now,
            )

    def recovered(self) -> None:
        """Redis answered after ``failed``: the next error starts from the shortest pause again."""
        self.failing = False
        self._pause_s = self.options.retry_after_s
        log.info("cache: Redis answers again")

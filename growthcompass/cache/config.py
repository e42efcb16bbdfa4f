"""Build Django's ``CACHES`` from a ``REDIS_URL`` (django-redis), and read the ``CACHE_*`` settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_REDIS_SCHEMES = {"redis", "rediss", "unix"}


def caches_from_url(
    url: str,
    *,
    key_prefix: str,
    variable: str = "REDIS_URL",
    version: int = 1,
    socket_timeout_s: float = 0.5,
    max_connections: int = 50,
) -> dict[str, Any]:
    """The ``CACHES`` setting: django-redis on ``url`` with a key prefix, a key version and a pool.

    Timeouts are short on purpose: when Redis is slow or away, the cached
    selectors fall through to PostgreSQL, which is better than making every
    request wait for a cache that does not answer.
    """
    scheme = urlsplit(url).scheme
    if scheme not in _REDIS_SCHEMES:
        raise ImproperlyConfigured(
            f"{variable} must be a Redis URL (redis://host:port/db, rediss://..., or unix:///path/redis.sock?db=0); "
            f"got scheme {scheme!r}"
        )
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": key_prefix,
            # Bumping the version orphans every key at once (a change of the cached payloads' shape).
            "VERSION": version,
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": socket_timeout_s,
                "SOCKET_TIMEOUT": socket_timeout_s,
                "CONNECTION_POOL_KWARGS": {"max_connections": max_connections, "health_check_interval": 30},
            },
        }
    }


def listener_required() -> bool:
    """Whether this deployment relies on an invalidation listener (the ``cache_listener`` check fails without)."""
    return bool(getattr(settings, "CACHE_LISTENER_REQUIRED", True))


@dataclass(frozen=True)
class CacheOptions:
    """The ``CACHE_*`` settings the cached selectors use, read once per store.

    The first four are defined in ``growthcompass.settings`` (their defaults
    are there); the others are tuning knobs left out of it, with their
    defaults here.
    """

    # The in-process tier: a small LRU in front of Redis, kept coherent by pub/sub.
    local_tier: bool
    local_max_entries: int
    local_ttl_s: float
    # Run the PostgreSQL LISTEN loop as a thread of this process (besides, or
    # instead of, ``manage.py cache_listener``).
    listener_in_process: bool
    # Seconds between pipelined flushes of this process's counters to Redis.
    stats_flush_interval_s: float = 1.0
    # An invalidation leaves a tombstone this long; a reader that started
    # before it may not store what it read (the stale-repopulate race). It must
    # exceed the longest loader query (DB_STATEMENT_TIMEOUT_MS) by a margin.
    tombstone_ttl_s: int = 120
    # Concurrent misses on one key: the first computes, the others wait this long at most.
    stampede_wait_s: float = 2.0
    stampede_lock_ttl_s: float = 10.0
    # After a Redis error the cache is skipped (reads go to PostgreSQL) for a
    # growing pause, starting here and doubling up to the maximum.
    retry_after_s: float = 0.5
    retry_after_max_s: float = 5.0
    # At most one "Redis unavailable" warning per process in this many seconds.
    warning_interval_s: float = 60.0

    @classmethod
    def from_settings(cls) -> CacheOptions:
        return cls(
            local_tier=settings.CACHE_LOCAL_TIER,
            local_max_entries=settings.CACHE_LOCAL_MAX_ENTRIES,
            local_ttl_s=settings.CACHE_LOCAL_TTL_S,
            listener_in_process=settings.CACHE_LISTENER_IN_PROCESS,
            # The tuning knobs fall back on the field defaults above, written once.
            stats_flush_interval_s=float(getattr(settings, "CACHE_STATS_FLUSH_INTERVAL_S", cls.stats_flush_interval_s)),
            tombstone_ttl_s=int(getattr(settings, "CACHE_TOMBSTONE_TTL_S", cls.tombstone_ttl_s)),
            stampede_wait_s=float(getattr(settings, "CACHE_STAMPEDE_WAIT_S", cls.stampede_wait_s)),
            stampede_lock_ttl_s=float(getattr(settings, "CACHE_STAMPEDE_LOCK_TTL_S", cls.stampede_lock_ttl_s)),
            retry_after_s=float(getattr(settings, "CACHE_RETRY_AFTER_S", cls.retry_after_s)),
            retry_after_max_s=float(getattr(settings, "CACHE_RETRY_AFTER_MAX_S", cls.retry_after_max_s)),
            warning_interval_s=float(getattr(settings, "CACHE_WARNING_INTERVAL_S", cls.warning_interval_s)),
        )

"""Build Django's ``CACHES`` from a ``REDIS_URL`` (django-redis), and read the ``CACHE_*`` settings.

Three topologies, told apart by the URL's scheme:

* ``redis://``, ``rediss://``, ``unix://`` -- one Redis (django-redis's default client);
* ``redis+sentinel://[:password@]host:port[,host:port...]/service/db`` -- the
  primary of a Sentinel service (django-redis's Sentinel connection factory);
  every command, reads included, goes to the primary: a replica may not yet
  have an invalidation the primary applied, and serving from it would be stale;
* ``redis+cluster://[:password@]host:port[,host:port...]`` -- a Redis Cluster
  (redis-py's ``RedisCluster`` behind the project's own django-redis client,
  ``growthcompass.cache.cluster``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_REDIS_SCHEMES = {"redis", "rediss", "unix"}
SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
_EXPECTED = (
    "a Redis URL (redis://host:port/db, rediss://..., unix:///path/redis.sock?db=0, "
    "redis+sentinel://host:port,host:port/service/db or redis+cluster://host:port,host:port)"
)


@dataclass(frozen=True)
class MultiHostUrl:
    """A ``redis+sentinel://`` or ``redis+cluster://`` URL, split (``urlsplit`` cannot: it has several hosts)."""

    scheme: str
    password: str | None
    hosts: tuple[tuple[str, int], ...]
    path: tuple[str, ...]
    query: dict[str, list[str]]


def parse_multi_host_url(url: str, *, variable: str = "REDIS_URL") -> MultiHostUrl:
    """Split ``url``; ``ImproperlyConfigured`` naming ``variable`` when a host, port or part is malformed."""
    scheme, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    if not at:
        hostlist, userinfo = netloc, ""
    password = unquote(userinfo.partition(":")[2]) if userinfo else None
    hosts: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        host, colon, port = item.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(f"{variable}: expected host:port in {scheme}:// URLs, got {item!r}")
        hosts.append((host.strip("[]"), int(port)))
    parts = tuple(unquote(p) for p in path.split("/") if p)
    return MultiHostUrl(scheme, password or None, tuple(hosts), parts, parse_qs(query))


def _sentinel_caches(url: str, variable: str) -> tuple[str, dict[str, Any]]:
    """LOCATION and the OPTIONS that point django-redis's Sentinel factory at ``url``'s service."""
    parsed = parse_multi_host_url(url, variable=variable)
    if not parsed.path or len(parsed.path) > 2 or (len(parsed.path) == 2 and not parsed.path[1].isdigit()):
        raise ImproperlyConfigured(
            f"{variable}: expected redis+sentinel://host:port,host:port/service_name/db, "
            f"got path {'/'.join(parsed.path)!r}"
        )
    service = parsed.path[0]
    # django-redis takes the service name from the LOCATION's host part, which URL parsing lowercases.
    if service != service.lower() or not all(ch.isalnum() or ch in "-_." for ch in service):
        raise ImproperlyConfigured(
            f"{variable}: the Sentinel service name must be lowercase letters, digits, '-', '_' or '.', got {service!r}"
        )
    db = parsed.path[1] if len(parsed.path) == 2 else "0"
    auth = f":{quote(parsed.password, safe='')}@" if parsed.password else ""
    sentinel_password = parsed.query.get("sentinel_password", [None])[0]
    return f"redis://{auth}{service}/{db}", {
        "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
        "SENTINELS": list(parsed.hosts),
        "SENTINEL_KWARGS": {"password": sentinel_password} if sentinel_password else None,
    }


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
    scheme = url.partition("://")[0] if "://" in url else urlsplit(url).scheme
    extra: dict[str, Any] = {}
    backend = "django_redis.cache.RedisCache"
    client_class = "django_redis.client.DefaultClient"
    location = url
    if scheme == SENTINEL_SCHEME:
        location, extra = _sentinel_caches(url, variable)
    elif scheme == CLUSTER_SCHEME:
        parse_multi_host_url(url, variable=variable)  # malformed hosts fail at start-up, not at first use
        client_class = "growthcompass.cache.cluster.ClusterClient"
    elif scheme not in _REDIS_SCHEMES:
        raise ImproperlyConfigured(f"{variable} must be {_EXPECTED}; got scheme {scheme!r}")
    return {
        "default": {
            "BACKEND": backend,
            "LOCATION": location,
            "KEY_PREFIX": key_prefix,
            # Bumping the version orphans every key at once (a change of the cached payloads' shape).
            "VERSION": version,
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": client_class,
                "SOCKET_CONNECT_TIMEOUT": socket_timeout_s,
                "SOCKET_TIMEOUT": socket_timeout_s,
                "CONNECTION_POOL_KWARGS": {"max_connections": max_connections, "health_check_interval": 30},
                **extra,
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
    # On a Redis Cluster: the hash-tag buckets each family's entries spread over (``growthcompass.cache.keys``).
    cluster_buckets: int = 16

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
            cluster_buckets=max(1, int(getattr(settings, "CACHE_CLUSTER_BUCKETS", cls.cluster_buckets))),
        )

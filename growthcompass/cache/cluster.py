"""Django's cache on a Redis Cluster: a django-redis client whose connection is redis-py's ``RedisCluster``.

django-redis has no cluster client, so this one keeps everything of its
``DefaultClient`` (key prefix and version, serializer, timeouts, the Django
cache API) and changes only what a cluster needs:

* ``connect`` builds one ``RedisCluster`` per URL and process, shared by the
  per-thread cache clients Django creates (as django-redis shares a pool);
* ``get_many`` / ``set_many`` split their keys by hash slot (``MGET`` and
  ``MULTI`` may only touch one slot);
* ``get_redis_connection(alias)`` returns that ``RedisCluster``, so the cache
  store, its scripts (whose keys carry hash tags: ``growthcompass.cache.keys``),
  pub/sub, the statistics hash and the health checks use it unchanged.

``REDIS_URL=redis+cluster://[:password@]host:port[,host:port...]``: any
reachable nodes; the cluster reports the rest. A cluster has one database,
so there is no ``/db``.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django_redis.client.default import DefaultClient
from redis.cluster import ClusterNode, RedisCluster

from growthcompass.cache.config import parse_multi_host_url

__all__ = ["ClusterClient", "cluster_for_url", "is_cluster"]

_clusters: dict[str, RedisCluster] = {}
_clusters_lock = threading.Lock()


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def cluster_for_url(url: str, *, socket_timeout_s: float = 0.5, max_connections: int = 50) -> RedisCluster:
    """This process's ``RedisCluster`` for ``url`` (built on first use)."""
    with _clusters_lock:
        found = _clusters.get(url)
        if found is None:
            parsed = parse_multi_host_url(url)
            found = RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in parsed.hosts],
                password=parsed.password,
                socket_timeout=socket_timeout_s,
                socket_connect_timeout=socket_timeout_s,
                max_connections=max_connections,
            )
            _clusters[url] = found
        return found


class ClusterClient(DefaultClient):
    """``DefaultClient`` on a ``RedisCluster`` (see the module's docstring)."""

    def __init__(self, server: str, params: dict[str, Any], backend: BaseCache) -> None:
        # One URL naming several nodes: not a list of servers to split on commas.
        super().__init__([server], params, backend)

    def connect(self, index: int = 0) -> Any:
        options = self._options
        pool_kwargs = options.get("CONNECTION_POOL_KWARGS", {})
        return cluster_for_url(
            self._server[index],
            socket_timeout_s=float(options.get("SOCKET_TIMEOUT", 0.5)),
            max_connections=int(pool_kwargs.get("max_connections", 50)),
        )

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        """Keep the shared cluster client: other threads' cache clients use it too."""

    def get_many(self, keys: Collection[str], version: int | None = None, client: Any = None) -> dict[Any, Any]:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        by_key = {self.make_key(k, version=version): k for k in keys}
        values = client.mget_nonatomic(list(by_key))
        return {by_key[key]: self.decode(value) for key, value in zip(by_key, values, strict=True) if value is not None}

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
    ) -> None:
        if client is None:
            client = self.get_client(write=True)
        # Not a MULTI: the keys are in different slots.
        pipeline = client.pipeline(transaction=False)
        for key, value in data.items():
            self.set(key, value, timeout, version=version, client=pipeline)
        pipeline.execute()

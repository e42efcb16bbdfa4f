"""One Redis hash that every process writes its numbers into, for a report that covers them all.

Each process counts or measures in memory and publishes now and then, so the
request path never waits for Redis. Two kinds of publication share the hash
mechanics here:

* counters that add up across processes (``add``: one pipelined ``HINCRBY``
  per field), as the cache statistics do;
* snapshots, one field per process (``put``), as the query metrics do;
  readers merge them and drop the fields of processes gone quiet.

Redis errors propagate: each publisher decides what a failed publication
means for it (counts kept for later, a snapshot retried next round).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.cache import caches
from redis import Redis

__all__ = ["RedisHash"]


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class RedisHash:
    """The hash ``key`` on ``client``."""

    def __init__(self, client: Redis, key: str) -> None:
        self.client = client
        self.key = key

    @classmethod
    def on_cache(cls, name: str, alias: str = "default") -> RedisHash:
        """The hash ``name`` on Django's cache ``alias`` (its django-redis pool, key prefix and version)."""
        from django_redis import get_redis_connection

        return cls(get_redis_connection(alias), caches[alias].make_key(name))

    def add(self, counts: Mapping[str, int]) -> None:
        """Add ``counts`` to the fields' values, in one pipelined round trip."""
        pipe = self.client.pipeline(transaction=False)
        for field, value in counts.items():
            pipe.hincrby(self.key, field, value)
        pipe.execute()

    def counts(self) -> dict[str, int]:
        """Every field's value as an integer (the fields ``add`` writes)."""
        return {_text(field): int(value) for field, value in self.client.hgetall(self.key).items()}

    def put(self, field: str, value: str, *, expire_s: int) -> None:
        """Set ``field`` to ``value``; the whole hash expires ``expire_s`` after the last put."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.key, field, value)
        pipe.expire(self.key, expire_s)
        pipe.execute()

    def values(self) -> dict[str, bytes | str]:
        """Every field with its raw value (the fields ``put`` writes)."""
        return {_text(field): value for field, value in self.client.hgetall(self.key).items()}

    def remove(self, *fields: str) -> None:
        if fields:
            self.client.hdel(self.key, *fields)

    def clear(self) -> None:
        self.client.delete(self.key)

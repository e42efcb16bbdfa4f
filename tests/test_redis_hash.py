"""growthcompass.redis_hash: the Redis hash every process publishes its numbers into."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection

from growthcompass.redis_hash import RedisHash


@pytest.fixture
def key(worker_id: str) -> Iterator[str]:
    name = caches["default"].make_key(f"test-redis-hash-{worker_id}")
    client = get_redis_connection("default")
    client.delete(name)
    yield name
    client.delete(name)


def _process(key: str) -> RedisHash:
    """A publisher as another process would have it: its own object on the same hash."""
    return RedisHash(get_redis_connection("default"), key)


def test_counts_added_by_several_processes_add_up(key: str) -> None:
    first, second = _process(key), _process(key)
    assert first.counts() == {}

    first.add({"student|hits": 3, "student|misses": 1})
    second.add({"student|hits": 2})

    assert first.counts() == {"student|hits": 5, "student|misses": 1}


def test_each_process_puts_its_own_snapshot_field(key: str) -> None:
    first, second = _process(key), _process(key)

    first.put("host:1", '{"n": 1}', expire_s=60)
    second.put("host:2", '{"n": 2}', expire_s=60)
    first.put("host:1", '{"n": 3}', expire_s=60)

    assert first.values() == {
        "host:1": b'{"n": 3}',
        "host:2": b'{"n": 2}',
    }


def test_a_put_sets_when_the_whole_hash_expires(key: str) -> None:
    published = _process(key)
    published.put("host:1", "{}", expire_s=60)

    assert 0 < published.client.ttl(key) <= 60


def test_remove_drops_only_the_fields_named(key: str) -> None:
    published = _process(key)
    published.put("host:1", "{}", expire_s=60)
    published.put("host:2", "{}", expire_s=60)
    assert set(published.values()) == {"host:1", "host:2"}

    published.remove("host:1")

    assert set(published.values()) == {"host:2"}


def test_clear_deletes_the_hash(key: str) -> None:
    published = _process(key)
    published.add({"a|hits": 1})
    assert published.client.exists(key)

    published.clear()

    assert not published.client.exists(key)


def test_on_cache_names_the_hash_with_the_cache_key_prefix_and_version(settings: Any) -> None:
    published = RedisHash.on_cache("query-metrics")

    assert published.key == caches["default"].make_key("query-metrics")
    assert published.key.startswith(settings.CACHES["default"]["KEY_PREFIX"])

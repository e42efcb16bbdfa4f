"""Sentinel and Cluster settings, the hash-tag key scheme, and a changed server treated like a restart.

The failovers themselves run in the slow suite (``tests/faults/test_redis_sentinel_failover.py``,
``tests/faults/test_redis_cluster_failover.py``, ``tests/cache/test_on_cluster.py``).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from redis.cluster import key_slot

from growthcompass.cache.config import caches_from_url
from growthcompass.cache.keys import KeyScheme
from students.selectors import student_get
from tests.cache.conftest import the_student
from tests.factories import StudentFactory


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_db() -> None:
    config = caches_from_url("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380/gc-cache/3", key_prefix="p")
    default = config["default"]
    assert default["LOCATION"] == "redis://:s3cret@gc-cache/3"
    assert default["OPTIONS"]["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert default["OPTIONS"]["SENTINELS"] == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    # Every command to the primary: the default client, not django-redis's replica-reading SentinelClient.
    assert default["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.DefaultClient"


def test_a_cluster_url_uses_the_projects_cluster_client() -> None:
    config = caches_from_url("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", key_prefix="p")
    assert config["default"]["OPTIONS"]["CLIENT_CLASS"] == "growthcompass.cache.cluster.ClusterClient"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://10.0.0.1/gc/0", "expected host:port"),
        ("redis+sentinel://10.0.0.1:99999/gc/0", "expected host:port"),
        ("redis+sentinel://10.0.0.1:26379", "service_name/db"),
        ("redis+sentinel://10.0.0.1:26379/gc/zero", "service_name/db"),
        ("redis+sentinel://10.0.0.1:26379/MyMaster/0", "lowercase"),
        ("redis+cluster://127.0.0.1:7000,nohost", "expected host:port"),
        ("memcached://127.0.0.1:11211", "redis+sentinel://"),
    ],
)
def test_a_malformed_url_stops_start_up_naming_the_variable(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL") as raised:
        caches_from_url(url, key_prefix="p")
    assert message in str(raised.value)


def test_on_one_redis_the_keys_carry_no_tag() -> None:
    keys = KeyScheme("gc:1:")
    assert keys.entry("student", 42) == "gc:1:student:42"
    assert keys.tombstone("student", 42) == "gc:1:~tomb:student:42"
    assert keys.seq(keys.group("student", 42)) == "gc:1:~seq"
    assert keys.family_groups("student") == [""]
    assert keys.queryset_entry("abc") == "gc:1:qs:abc"


def test_on_a_cluster_each_script_touches_one_slot() -> None:
    keys = KeyScheme("gc:1:", cluster=True)
    for family, ident in (("student", 42), ("course", 7), ("course_roster", 123456)):
        group = keys.group(family, ident)
        slots = {
            key_slot(k.encode())
            for k in (
                keys.entry(family, ident),
                keys.tombstone(family, ident),
                keys.lock(family, ident),
                keys.seq(group),
                keys.all_tombstone(group),
                keys.family_tombstone(family, group),
            )
        }
        assert len(slots) == 1, (family, ident, slots)
    assert len({key_slot(k.encode()) for k in (keys.queryset_entry("a"), keys.queryset_entry("b"))}) == 1
    assert keys.entry("student", 42).startswith("gc:1:student:42"), "a pattern like student:* still matches"


def test_on_a_cluster_one_family_spreads_over_three_masters() -> None:
    keys = KeyScheme("gc:1:", cluster=True)
    # Three masters split the 16384 slots in three ranges, as `redis-cli --cluster create` does.
    masters = {key_slot(keys.entry("student", ident).encode()) * 3 // 16384 for ident in range(keys.buckets)}
    assert masters == {0, 1, 2}


@pytest.mark.django_db(transaction=True)
def test_a_store_that_finds_another_server_than_it_marked_invalidates_everything(cache_store) -> None:
    student = StudentFactory.create()
    assert cache_store.check_server() is False, "the first check only marks the server"
    the_student(student.pk)
    assert cache_store.client.exists(cache_store.key("student", student.pk)), "precondition: cached"

    # What a promoted replica looks like: the data replicated, the mark naming the lost primary.
    cache_store.client.set(cache_store.server_key, "run-id-of-the-lost-primary")
    assert cache_store.check_server() is True
    assert not cache_store.client.exists(cache_store.key("student", student.pk))
    assert cache_store.server_changes == 1
    assert cache_store.check_server() is False, "the new server is marked"
    assert student_get(student.pk) is not None


@pytest.mark.django_db(transaction=True)
def test_after_a_redis_error_the_next_read_checks_the_server_before_it_reads(cache_store) -> None:
    student = StudentFactory.create()
    cache_store.check_server()
    the_student(student.pk)
    stale = cache_store.client.get(cache_store.key("student", student.pk))
    assert stale is not None, "precondition: cached"
    # A failover: the promoted replica still holds the entry whose invalidation was lost...
    type(student).objects.filter(pk=student.pk).update(grade_level=(student.grade_level + 1) % 13)
    cache_store.client.set(cache_store.key("student", student.pk), stale)
    cache_store.client.set(cache_store.server_key, "run-id-of-the-lost-primary")
    # ... and this process saw the connection drop (its periodic check is not due).
    cache_store.breaker.failed(ConnectionError("connection lost"), "student")
    cache_store.breaker.skip_until = 0.0

    summary = student_get(student.pk)

    assert summary is not None and summary.grade_level == (student.grade_level + 1) % 13
    assert cache_store.server_changes == 1
    assert not cache_store.breaker.server_unchecked

"""The in-process tier: served without Redis, evicted across processes by pub/sub, never refilled stale."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import pytest

from growthcompass.cache import build_store
from growthcompass.cache.local import MISSING, LocalTier
from students.cache import STUDENT_FAMILY
from students.models import StudentStatus
from students.selectors import student_get
from students.services import student_leave
from tests.cache.conftest import WAIT_S, the_student
from tests.factories import StudentFactory


def warm(store: Any, student_id: int) -> None:
    """Read until the entry sits in the tier (a fill racing a pub/sub eviction is dropped, by design)."""
    assert wait_until(
        lambda: student_get(student_id) is not None and store.key("student", student_id) in store.local._data
    )


def wait_until(predicate: Any) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_hot_read_is_served_in_process_without_redis(local_store, monkeypatch):
    student = StudentFactory.create()
    warm(local_store, student.pk)
    local_hits = local_store.counters.peek().get("student|local_hits", 0)
    sent: list[Any] = []
    original = local_store.client.execute_command

    def counting(*args: Any, **kwargs: Any) -> Any:
        sent.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(local_store.client, "execute_command", counting)

    assert the_student(student.pk).id == student.pk

    assert sent == []
    assert local_store.counters.peek().get("student|local_hits") == local_hits + 1


@pytest.mark.django_db(transaction=True)
def test_an_invalidation_in_another_process_evicts_this_process_tier(local_store, test_caches):
    student = StudentFactory.create()
    warm(local_store, student.pk)
    assert len(local_store.local) == 1

    # "Another process": a second store with its own connection pool, invalidating as a writer would.
    other = build_store()
    try:
        other.invalidate({"student": frozenset({student.pk})})
        assert wait_until(lambda: len(local_store.local) == 0), "the pub/sub message never evicted the entry"
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_an_orm_write_is_fresh_in_process_at_once(local_store):
    student = StudentFactory.create()
    warm(local_store, student.pk)
    student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.INACTIVE, reason="x")
    assert the_student(student.pk).status == StudentStatus.INACTIVE


@pytest.mark.django_db(transaction=True)
def test_the_tier_serves_nothing_while_its_subscription_is_down(local_store):
    student = StudentFactory.create()
    warm(local_store, student.pk)
    local_store.subscriber.stop()
    local_store.subscriber.join(WAIT_S)

    assert local_store.local.ready is False
    assert len(local_store.local) == 0
    hits = local_store.counters.peek().get("student|hits", 0)
    student_get(student.pk)
    assert local_store.counters.peek().get("student|hits") == hits + 1  # from Redis, not from the stopped tier


def test_a_value_read_before_an_eviction_is_not_kept():
    tier = LocalTier(max_entries=10, ttl_s=60)
    tier.ready = True
    epoch = tier.epoch  # a reader starts ...
    tier.evict(["k"])  # ... an invalidation arrives ...
    assert tier.put("k", "old", epoch) is False  # ... the reader's value is dropped
    assert tier.get("k") is MISSING


def test_the_tier_evicts_the_least_recently_used_entry():
    tier = LocalTier(max_entries=2, ttl_s=60)
    tier.ready = True
    tier.put("a", 1, tier.epoch)
    tier.put("b", 2, tier.epoch)
    assert tier.get("a") == 1  # a is now more recent than b
    tier.put("c", 3, tier.epoch)
    assert tier.get("b") is MISSING
    assert (tier.get("a"), tier.get("c")) == (1, 3)


def test_entries_expire_after_the_ttl():
    tier = LocalTier(max_entries=2, ttl_s=0.01)
    tier.ready = True
    tier.put("a", 1, tier.epoch)
    time.sleep(0.02)
    assert tier.get("a") is MISSING


@pytest.mark.django_db(transaction=True)
def test_a_family_can_stay_out_of_the_tier(local_store):
    student = StudentFactory.create()
    local_store.get(dataclasses.replace(STUDENT_FAMILY, local=False), student.pk)
    local_store.get(dataclasses.replace(STUDENT_FAMILY, local=False), student.pk)
    assert len(local_store.local) == 0
    assert local_store.counters.peek().get("student|hits") == 1

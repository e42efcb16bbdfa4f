"""growthcompass.cache.pending: invalidations Redis missed are kept, merged and replayed."""

from __future__ import annotations

from growthcompass.cache.breaker import RedisBreaker
from growthcompass.cache.config import CacheOptions
from growthcompass.cache.counters import Counters
from growthcompass.cache.messages import EVERYTHING, Invalidation
from growthcompass.cache.pending import PENDING_LIMIT, PendingInvalidations

OPTIONS = CacheOptions(local_tier=False, local_max_entries=1, local_ttl_s=0.0, listener_in_process=False)


def _breaker() -> RedisBreaker:
    return RedisBreaker(OPTIONS, Counters())


class Recorder:
    """In place of ``CacheStore.invalidate`` with Redis answering: records what it is asked to apply."""

    def __init__(self) -> None:
        self.applied: list[Invalidation] = []

    def __call__(self, invalidation: Invalidation) -> bool:
        self.applied.append(invalidation)
        return True


def test_failed_invalidations_are_merged_while_they_wait() -> None:
    pending = PendingInvalidations()
    pending.defer({"student": frozenset({1, 2})})
    pending.defer({"student": frozenset({2, 3}), "course": None})

    assert pending.queued == {"student": frozenset({1, 2, 3}), "course": None}
    assert len(pending) == 4  # three ids, and a whole family counting once


def test_past_the_limit_everything_is_invalidated_instead() -> None:
    pending = PendingInvalidations()
    pending.defer({"student": frozenset(range(PENDING_LIMIT))})
    assert EVERYTHING not in pending.queued

    pending.defer({"course": frozenset({1})})

    assert pending.queued == {EVERYTHING: None}


def test_a_replay_applies_what_waits_and_leaves_nothing() -> None:
    pending = PendingInvalidations()
    pending.defer({"student": frozenset({7})})
    invalidate = Recorder()

    assert pending.replay(invalidate, _breaker())

    assert invalidate.applied == [{"student": frozenset({7})}]
    assert not pending.queued


def test_no_replay_while_redis_is_skipped() -> None:
    breaker = _breaker()
    breaker.failed(ConnectionError("down"), "student")
    assert breaker.skipping
    pending = PendingInvalidations()
    pending.defer({"student": frozenset({7})})
    invalidate = Recorder()

    assert not pending.replay(invalidate, breaker)

    assert invalidate.applied == []
    assert pending.queued == {"student": frozenset({7})}

"""Redis away or slow: reads fall through to PostgreSQL, nothing raises, errors are counted.

Each test starts a private Redis (``growthcompass.devservers``, on a unix
socket under ``tmp_path``) so it can stop or pause it; the machine's Redis is
never touched.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.test import override_settings

from growthcompass.cache import CacheStore, get_store, reset_store
from growthcompass.cache.config import caches_from_url
from growthcompass.health import run_checks
from students.models import StudentStatus
from students.selectors import student_get, students_by_ids
from students.services import student_leave
from tests.cache.conftest import WAIT_S, the_student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)

devservers = pytest.importorskip("growthcompass.devservers")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    url = devservers.ensure_redis(tmp_path)
    yield tmp_path, url
    devservers.stop_redis(tmp_path)


@pytest.fixture
def private_store(private_redis: tuple[Path, str]) -> Iterator[CacheStore]:
    _, url = private_redis
    with override_settings(CACHES=caches_from_url(url, key_prefix="gc-private"), CACHE_RETRY_AFTER_S=0.2):
        yield get_store()
        reset_store()


def wait_until_redis_is_tried_again(store: CacheStore) -> None:
    deadline = time.monotonic() + WAIT_S
    while store.skipping_redis and time.monotonic() < deadline:
        time.sleep(0.05)


def test_reads_fall_through_to_postgres_when_redis_stops(private_redis, private_store, caplog):
    root, _ = private_redis
    student = StudentFactory.create()
    others = [StudentFactory.create() for _ in range(3)]
    assert the_student(student.pk).status == StudentStatus.ACTIVE
    assert private_store.client.exists(private_store.key("student", student.pk))

    devservers.stop_redis(root)
    student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.WITHDRAWN, reason="moved")

    with caplog.at_level(logging.WARNING, logger="growthcompass.cache"):
        reads = [the_student(student.pk) for _ in range(5)]
        batch = students_by_ids([o.pk for o in others])

    assert {r.status for r in reads} == {StudentStatus.WITHDRAWN}  # PostgreSQL's answer, not the old entry
    assert sorted(batch) == sorted(o.pk for o in others)
    warnings = [r for r in caplog.records if r.name == "growthcompass.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, "the warning is rate-limited, not logged on every call"

    stats = private_store.statistics()
    assert stats["redis"]["connected"] is False
    assert stats["totals"]["errors"] >= 1
    assert stats["totals"]["errors"] + stats["totals"]["bypassed"] >= 6
    assert stats["process"]["pending_invalidations"] >= 1  # the on-commit invalidation, kept for later

    (redis_result,) = run_checks(["redis"])
    assert redis_result.ok is False


def test_reads_use_redis_again_once_it_is_back(private_redis, private_store):
    root, _ = private_redis
    student = StudentFactory.create()
    devservers.stop_redis(root)
    assert student_get(student.pk) is not None  # error, skip Redis for a while

    devservers.ensure_redis(root)
    wait_until_redis_is_tried_again(private_store)
    student_get(student.pk)  # may meet a dead pooled connection once
    wait_until_redis_is_tried_again(private_store)
    assert student_get(student.pk) is not None

    assert private_store.client.exists(private_store.key("student", student.pk))
    assert private_store.pending_invalidations == 0
    shared = private_store.statistics()["totals"]
    assert shared["errors"] >= 1, "errors counted while Redis was away are flushed once it is back"
    assert private_store.statistics()["redis"]["connected"] is True


def test_an_invalidation_missed_while_redis_was_slow_is_replayed_before_the_next_read(private_redis, private_store):
    _, url = private_redis
    student = StudentFactory.create()
    assert the_student(student.pk).status == StudentStatus.ACTIVE
    admin = redis.Redis.from_url(url)

    # Redis stops answering (but keeps its data) while a write commits.
    admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")
    student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.GRADUATED, reason="done")
    assert private_store.pending_invalidations == 1
    assert the_student(student.pk).status == StudentStatus.GRADUATED  # Redis skipped meanwhile

    # Once Redis answers again, the pending invalidation is applied before anything is read from it.
    admin.execute_command("CLIENT", "UNPAUSE")
    wait_until_redis_is_tried_again(private_store)
    assert the_student(student.pk).status == StudentStatus.GRADUATED
    assert private_store.pending_invalidations == 0
    admin.close()


def test_the_health_check_reports_a_live_redis(cache_store):
    (result,) = run_checks(["redis"])
    assert result.ok is True
    assert result.data["connected"] is True
    assert result.data["ping_ms"] >= 0
    assert "used_memory_human" in result.data

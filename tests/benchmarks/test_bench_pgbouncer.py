"""bench_pgbouncer on the test database: two rows, each through PgBouncer against direct, and no alias left behind."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from benchmarks import bench_pgbouncer
from tests.factories import StudentFactory
from tests.pgbouncer import require_pgbouncer

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_benchmark_times_a_read_and_a_write_through_pgbouncer_against_direct(
    monkeypatch: pytest.MonkeyPatch, django_db_blocker: Any
) -> None:
    require_pgbouncer()
    # The benchmark makes its alias at run time; a test case refuses connections to aliases it was not
    # told about when it started, so Django's own ensure_connection is put back for this test.
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", django_db_blocker._real_ensure_connection)
    StudentFactory.create_batch(3)
    monkeypatch.setattr(bench_pgbouncer, "RUNS", {"small": 5, "default": 5})

    rows = bench_pgbouncer.run("small")

    assert [row.operation.split(":")[0] for row in rows] == ["point read", "single-row write"]
    for row in rows:
        assert row.baseline == "direct to PostgreSQL"
        assert row.ratio is not None and row.ratio > 0
        assert row.target == "informational" and row.met is None
    assert bench_pgbouncer.ALIAS not in connections.settings

"""The audit benchmark's pure parts and its promise that django-pghistory stays benchmark-only."""

from __future__ import annotations

from django.conf import settings

from benchmarks import bench_audit
from benchmarks.audit_workload import WARMUP, Fixture, entries_per_round, shape


def test_pghistory_is_never_an_installed_app_of_the_project() -> None:
    assert "django.contrib.admin" in settings.INSTALLED_APPS
    assert "pghistory" not in settings.INSTALLED_APPS
    requirements = (bench_audit.REPO_ROOT / "requirements.txt").read_text()
    assert "pghistory" not in requirements
    assert "django-pghistory==" in (bench_audit.REPO_ROOT / "requirements-bench.txt").read_text()


def test_every_operation_but_delete_has_a_ratio_target() -> None:
    assert set(bench_audit.MAX_RATIO) == set(bench_audit.OPERATIONS) - {"delete"}
    assert 0 < bench_audit.MAX_DELETE_SHARE_OF_INSERT < 1


def test_the_fixture_shape_gives_the_row_count_and_a_round_its_entry_count() -> None:
    students, sessions = shape(100_000)
    assert students * sessions == 100_000
    fixture = Fixture(student_ids=list(range(3)), session_ids=list(range(4)))
    assert fixture.rows == 12
    assert entries_per_round(fixture, 5) == 4 * 12 + 2 * (WARMUP + 5)

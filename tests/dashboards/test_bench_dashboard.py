"""Smoke test of ``benchmarks/bench_dashboard.py`` on a tiny school: its pages and baselines all answer.

No timing: the figures come from ``python -m benchmarks --only dashboard``.
"""

from __future__ import annotations

import pytest

from benchmarks import bench_dashboard
from tests.dashboards.dashboard_school import build_small_school

# Beside the dashboard tests rather than in tests/benchmarks: it needs their school and cache fixture.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_cache")]


def test_every_page_and_its_changelist_answer_and_are_counted() -> None:
    school = build_small_school()
    pages = bench_dashboard._pages()
    assert [p.label for p in pages][:2] == ["school overview", "school overview, grade 7"]
    assert any(str(school.course.pk) in p.url for p in pages)
    client = bench_dashboard._staff_client()
    for page in pages:
        assert bench_dashboard._query_count(client, page.url) > 0
        assert bench_dashboard._query_count(client, page.baseline_url) > 0

"""dashboards 0002 on a database holding data: the summaries are built from it, and reverse cleanly."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from dashboards.models import ATTENDANCE_WEEKLY_VIEW, FEEDBACK_TREND_VIEW, ViewRefresh
from tests.dashboards.dashboard_school import build_small_school

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARIES = [ATTENDANCE_WEEKLY_VIEW, FEEDBACK_TREND_VIEW]


def _views() -> set[str]:
    """The materialized views, by the name readers use (``<name>_rows`` is the stored one, dashboards 0004)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT matviewname FROM pg_matviews")
        return {row[0].removesuffix("_rows") for row in cursor.fetchall()}


def _rows(view: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{view}"')
        return int(cursor.fetchone()[0])


def test_summaries_reverse_and_are_rebuilt_from_existing_data(private_cache: None) -> None:
    build_small_school()
    assert set(SUMMARIES) <= _views()
    counts = {view: _rows(view) for view in SUMMARIES}
    assert counts[ATTENDANCE_WEEKLY_VIEW] == 2 and counts[FEEDBACK_TREND_VIEW] == 1

    call_command("migrate", "dashboards", "0001", verbosity=0)
    assert not set(SUMMARIES) & _views()
    assert "student_metrics_mv" in _views()
    assert not ViewRefresh.objects.filter(view_name__in=SUMMARIES).exists()

    call_command("migrate", "dashboards", verbosity=0)
    assert {view: _rows(view) for view in SUMMARIES} == counts  # built WITH DATA from the rows already there
    recorded = ViewRefresh.objects.filter(view_name__in=SUMMARIES, source=ViewRefresh.Source.MIGRATION)
    assert sorted(recorded.values_list("view_name", flat=True)) == sorted(SUMMARIES)

"""The partial index behind "who was late": usable for late rows, and only for them."""

from __future__ import annotations

import pytest
from django.db import connection

from attendance.models import Attendance, AttendanceStatus
from tests.factories import AttendanceFactory

pytestmark = pytest.mark.django_db


def plan_of(status: str) -> str:
    """The plan of the admin's late list, with sequential scans priced out (tables here are tiny)."""
    AttendanceFactory.create(status=AttendanceStatus.LATE, minutes_late=12)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    queryset = Attendance.objects.filter(status=status).order_by("-minutes_late")[:100]
    return queryset.explain(format="json")


def late_indexes() -> set[str]:
    """idx_attendances_late and its copy on each partition of attendances (named by PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'idx_attendances_late'::regclass"
        )
        return {"idx_attendances_late"} | {name for (name,) in cursor.fetchall()}


def test_the_late_list_can_be_served_by_the_partial_index() -> None:
    plan = plan_of(AttendanceStatus.LATE)
    assert len(late_indexes()) > 1  # one per partition
    assert any(f'"{name}"' in plan for name in late_indexes())


def test_other_statuses_are_not_in_the_partial_index() -> None:
    plan = plan_of(AttendanceStatus.PRESENT)
    assert not any(f'"{name}"' in plan for name in late_indexes())

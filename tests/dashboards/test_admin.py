"""The read-only metrics admin: filters, sorting, and no way to edit."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceStatus
from dashboards.models import ViewRefresh
from dashboards.refresh import materialized_view_refresh
from students.models import Student
from tests.factories import AttendanceFactory, ClassSessionFactory, StudentFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:dashboards_studentmetrics_changelist")


def _student_with_rate(number: str, grade: int, present: int, absent: int) -> Student:
    student = StudentFactory.create(student_number=number, grade_level=grade)
    statuses = [AttendanceStatus.PRESENT] * present + [AttendanceStatus.ABSENT] * absent
    for day, status in enumerate(statuses, start=1):
        session = ClassSessionFactory.create(session_date=timezone.localdate() - dt.timedelta(days=day))
        AttendanceFactory.create(student=student, session=session, status=status)
    return student


@pytest.fixture
def school() -> None:
    _student_with_rate("A-60", 7, present=3, absent=2)  # 60%
    _student_with_rate("B-80", 7, present=4, absent=1)  # 80%
    _student_with_rate("C-100", 8, present=2, absent=0)  # 100%
    StudentFactory.create(student_number="D-none", grade_level=7)  # nothing counted
    materialized_view_refresh()


def _numbers(client: Client, **params: str) -> list[str]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return re.findall(r'class="field-student_number"><a [^>]*>([^<]+)</a>', response.content.decode())


def test_lowest_attendance_comes_first_and_unknown_last(staff_client: Client, school: None) -> None:
    assert _numbers(staff_client) == ["A-60", "B-80", "C-100", "D-none"]


def test_filters_by_grade_status_and_attendance_below(staff_client: Client, school: None) -> None:
    assert _numbers(staff_client, grade_level__exact="7") == ["A-60", "B-80", "D-none"]
    assert _numbers(staff_client, attendance_below="75") == ["A-60"]
    assert _numbers(staff_client, attendance_below="80.5") == ["A-60", "B-80"]
    assert _numbers(staff_client, attendance_below="unknown") == ["D-none"]
    assert _numbers(staff_client, status__exact="inactive") == []


def test_an_unusable_threshold_is_refused_not_crashed(staff_client: Client, school: None) -> None:
    for value in ("lots", "150"):
        response = staff_client.get(CHANGELIST, {"attendance_below": value})
        assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_columns_sort(staff_client: Client, school: None) -> None:
    # Column 5 is the attendance rate; "-5" sorts it descending (NULLs first, as PostgreSQL does).
    assert _numbers(staff_client, o="-5") == ["D-none", "C-100", "B-80", "A-60"]


def test_title_says_how_old_the_numbers_are(staff_client: Client, school: None) -> None:
    ViewRefresh.objects.update(finished_at=timezone.now() - dt.timedelta(minutes=3, seconds=10))
    assert "Student metrics (as of 3 min 10 s ago)" in staff_client.get(CHANGELIST).content.decode()
    ViewRefresh.objects.all().delete()
    assert "never refreshed: run manage.py refresh_views" in staff_client.get(CHANGELIST).content.decode()


def test_nothing_can_be_added_changed_or_deleted(staff_client: Client, school: None) -> None:
    student = Student.objects.get(student_number="A-60")
    assert staff_client.get(reverse("admin:dashboards_studentmetrics_add")).status_code == 403
    page = staff_client.get(reverse("admin:dashboards_studentmetrics_change", args=[student.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # a view page, not a form
    assert "60.00" in page.content.decode()
    assert staff_client.post(reverse("admin:dashboards_studentmetrics_delete", args=[student.pk])).status_code == 403
    assert staff_client.get(CHANGELIST, {"q": "A-60"}).status_code == 200
    assert Decimal("60.00") == student.metrics.attendance_rate

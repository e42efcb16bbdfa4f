"""The dashboard reads over the view."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from dashboards.models import StudentMetrics
from dashboards.refresh import materialized_view_refresh
from dashboards.selectors import student_metrics_get, student_metrics_lowest_attendance
from tests.dashboards.school import build_school
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def test_point_read_returns_the_same_instance_as_a_queryset() -> None:
    school = build_school(3)
    materialized_view_refresh()
    for student in school.students:
        fast = student_metrics_get(student_id=student.pk)
        assert fast is not None
        assert fast.pk == student.pk and fast._state.db == "default" and not fast._state.adding
        assert model_to_dict(fast) == model_to_dict(StudentMetrics.objects.get(pk=student.pk))


def test_point_read_of_a_student_not_yet_in_the_view_is_none() -> None:
    materialized_view_refresh()
    assert student_metrics_get(student_id=StudentFactory.create().pk) is None


def test_lowest_attendance_is_ordered_and_limited_within_a_grade() -> None:
    build_school(4, students=20)
    materialized_view_refresh()
    grade = StudentMetrics.objects.values_list("grade_level", flat=True).first()
    assert grade is not None
    everyone = list(StudentMetrics.objects.filter(grade_level=grade))
    expected = sorted(everyone, key=lambda m: (m.attendance_rate is None, m.attendance_rate or 0, m.pk))[:5]
    ranked = list(student_metrics_lowest_attendance(grade=grade, limit=5))
    assert [m.pk for m in ranked] == [m.pk for m in expected]
    assert len(everyone) > 5

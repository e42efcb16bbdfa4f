"""What the cached selectors return, and that a second read costs no query."""

from __future__ import annotations

import datetime as dt

import pytest

from courses.models import EnrollmentStatus
from courses.selectors import course_roster, courses_active, courses_by_ids, student_active_enrollments
from dashboards.refresh import materialized_view_refresh
from dashboards.selectors import student_metrics
from students.models import GuardianRelationship
from students.selectors import student_get, student_guardians
from tests.cache.conftest import the_course, the_student
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    GuardianFactory,
    StudentFactory,
    TermFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_student_get_returns_name_grade_and_status_and_is_cached(cache_store, django_assert_num_queries):
    student = StudentFactory.create(grade_level=0, user=UserFactory.create(first_name="Ada", last_name="Byron"))
    with django_assert_num_queries(1):
        summary = student_get(student.pk)
    assert summary is not None
    assert (summary.full_name, summary.grade_label, summary.status) == ("Ada Byron", "Kindergarten", "active")
    with django_assert_num_queries(0):
        assert student_get(student.pk) == summary


def test_a_missing_student_is_none_and_not_cached(cache_store):
    assert student_get(424242) is None
    assert not cache_store.client.exists(cache_store.key("student", 424242))


def test_course_get_has_term_and_teacher_names(cache_store):
    teacher = UserFactory.create(first_name="Grace", last_name="Hopper")
    course = CourseFactory.create(teacher=teacher, term=TermFactory.create(name="Autumn"))
    summary = the_course(course.pk)
    assert (summary.teacher_name, summary.term_name, summary.code) == ("Grace Hopper", "Autumn", course.code)


def test_courses_active_lists_active_courses_by_code(cache_store, django_assert_num_queries):
    b = CourseFactory.create(code="B-1")
    a = CourseFactory.create(code="A-1")
    CourseFactory.create(code="C-1", is_active=False)
    assert [c.id for c in courses_active()] == [a.pk, b.pk]
    with django_assert_num_queries(0):
        assert [c.code for c in courses_active()] == ["A-1", "B-1"]
    assert 0 < cache_store.client.ttl(cache_store.key("courses_active", 0)) <= 300


def test_course_roster_lists_active_enrolments_by_name(cache_store, django_assert_num_queries):
    course = CourseFactory.create()
    zed = StudentFactory.create(user=UserFactory.create(first_name="Zed", last_name="Adams"))
    amy = StudentFactory.create(user=UserFactory.create(first_name="Amy", last_name="Young"))
    dropped = StudentFactory.create()
    for student in (amy, zed):
        EnrollmentFactory.create(course=course, student=student)
    EnrollmentFactory.create(course=course, student=dropped, status=EnrollmentStatus.DROPPED)

    assert [s.id for s in course_roster(course.pk)] == [zed.pk, amy.pk]
    with django_assert_num_queries(0):
        assert len(course_roster(course.pk)) == 2


def test_student_active_enrollments_carry_their_courses(cache_store):
    student = StudentFactory.create()
    kept = EnrollmentFactory.create(student=student, course=CourseFactory.create(code="MATH-1"))
    EnrollmentFactory.create(student=student, status=EnrollmentStatus.COMPLETED)
    (enrollment,) = student_active_enrollments(student.pk)
    assert (enrollment.id, enrollment.course.code) == (kept.pk, "MATH-1")


def test_student_guardians_put_the_primary_first(cache_store):
    student = StudentFactory.create()
    GuardianFactory.create(student=student, full_name="Aaron", relationship=GuardianRelationship.FATHER)
    GuardianFactory.create(student=student, full_name="Zoe", is_primary=True)
    assert [g.full_name for g in student_guardians(student.pk)] == ["Zoe", "Aaron"]


def test_student_metrics_come_from_the_materialized_view(cache_store):
    student = StudentFactory.create()
    EnrollmentFactory.create(student=student)
    materialized_view_refresh()
    metrics = student_metrics(student.pk)
    assert metrics is not None
    assert (metrics.student_id, metrics.active_enrollments, metrics.attendance_rate) == (student.pk, 1, None)


def test_courses_by_ids_skips_unknown_ids(cache_store):
    course = CourseFactory.create()
    assert list(courses_by_ids([course.pk, 999999])) == [course.pk]


def test_summaries_are_immutable(cache_store):
    student = StudentFactory.create()
    summary = the_student(student.pk)
    with pytest.raises(AttributeError):
        summary.status = "withdrawn"  # type: ignore[misc]


def test_dates_survive_the_round_trip_through_redis(cache_store):
    student = StudentFactory.create(enrolled_on=dt.date(2023, 9, 4))
    student_get(student.pk)
    assert cache_store.client.exists(cache_store.key("student", student.pk))
    assert the_student(student.pk).enrolled_on == dt.date(2023, 9, 4)

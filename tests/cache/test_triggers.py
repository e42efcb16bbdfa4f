"""The invalidation triggers: what each write to each table announces, and only on commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from courses.models import Course, Enrollment, EnrollmentStatus, Term
from students.models import Guardian, Student, StudentStatus
from tests.cache.conftest import payloads
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    GuardianFactory,
    StudentFactory,
    TermFactory,
    UserFactory,
)


def test_student_update_announces_the_student(notifications):
    student = StudentFactory.create()
    payloads(notifications)
    Student.objects.filter(pk=student.pk).update(status=StudentStatus.INACTIVE)
    assert payloads(notifications) == [f"student:{student.pk}"]


def test_login_timestamp_announces_nothing(notifications):
    student = StudentFactory.create()
    payloads(notifications)
    User.objects.filter(pk=student.pk).update(last_login=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert payloads(notifications) == []


def test_name_change_announces_the_student_and_the_courses_taught(notifications):
    teacher = UserFactory.create()
    course = CourseFactory.create(teacher=teacher)
    student = StudentFactory.create()
    payloads(notifications)
    User.objects.filter(pk__in=[teacher.pk, student.pk]).update(first_name="Renamed")
    got = payloads(notifications)
    assert sorted(got) == sorted(
        [f"student:{min(teacher.pk, student.pk)},{max(teacher.pk, student.pk)}", f"course:{course.pk}"]
    )


def test_moving_an_enrolment_announces_old_and_new_course_and_student(notifications):
    enrollment = EnrollmentFactory.create()
    other_course = CourseFactory.create()
    payloads(notifications)
    Enrollment.objects.filter(pk=enrollment.pk).update(course=other_course)
    first, second = sorted((enrollment.course_id, other_course.pk))
    assert sorted(payloads(notifications)) == [
        f"course_roster:{first},{second}",
        f"student_enrollments:{enrollment.student_id}",
    ]


def test_guardian_insert_announces_the_student_guardians(notifications):
    student = StudentFactory.create()
    payloads(notifications)
    GuardianFactory.create(student=student)
    assert payloads(notifications) == [f"student_guardians:{student.pk}"]


def test_courses_active_is_announced_only_when_the_active_set_changes(notifications):
    course = CourseFactory.create(is_active=True)
    payloads(notifications)
    Course.objects.filter(pk=course.pk).update(name="Renamed")
    assert payloads(notifications) == [f"course:{course.pk}"]
    Course.objects.filter(pk=course.pk).update(is_active=False)
    assert payloads(notifications) == [f"course:{course.pk}", "courses_active:0"]


def test_term_rename_announces_its_courses(notifications):
    term = TermFactory.create()
    courses = [CourseFactory.create(term=term) for _ in range(2)]
    payloads(notifications)
    Term.objects.filter(pk=term.pk).update(name="Renamed term")
    assert payloads(notifications) == ["course:" + ",".join(str(c.pk) for c in sorted(courses, key=lambda c: c.pk))]


def test_a_bulk_write_past_the_payload_limit_announces_the_whole_family(notifications):
    with connection.cursor() as cursor:
        cursor.execute("SELECT gc_cache_notify('student', ARRAY(SELECT generate_series(1000000, 1002000)::bigint))")
    assert payloads(notifications) == ["student:*"]


def test_truncate_announces_whole_families(notifications):
    # Only the owner may TRUNCATE; its function does it for a system scope, as seed_demo does.
    with connection.cursor() as cursor:
        cursor.execute("SELECT gc_system_truncate(ARRAY['guardians'])")
    assert payloads(notifications) == ["student_guardians:*"]


def test_a_rolled_back_write_announces_nothing(notifications):
    student = StudentFactory.create()
    payloads(notifications)
    with pytest.raises(RuntimeError), transaction.atomic():
        Student.objects.filter(pk=student.pk).update(status=StudentStatus.WITHDRAWN)
        Guardian.objects.create(student=student, full_name="X", relationship="mother")
        raise RuntimeError("roll back")
    assert payloads(notifications) == []


def test_a_view_refresh_announces_every_metrics_entry(notifications):
    from dashboards.models import ViewRefresh

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ViewRefresh.objects.create(
        view_name="student_metrics_mv",
        started_at=now,
        finished_at=now,
        duration_ms=1,
        concurrent=False,
        source=ViewRefresh.Source.API,
    )
    assert payloads(notifications) == ["student_metrics:*"]


def test_enrolment_status_change_announces_roster_and_student(notifications):
    enrollment = EnrollmentFactory.create(status=EnrollmentStatus.ACTIVE)
    payloads(notifications)
    Enrollment.objects.filter(pk=enrollment.pk).update(status=EnrollmentStatus.DROPPED)
    assert sorted(payloads(notifications)) == [
        f"course_roster:{enrollment.course_id}",
        f"student_enrollments:{enrollment.student_id}",
    ]

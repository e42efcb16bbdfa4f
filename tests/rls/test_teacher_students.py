"""``rls_teacher_students`` always equals its definition, on every write path, and survives its migration.

The table is what the teacher policies on students, guardians, attendance and
feedback probe (courses migration 0008). It is derived: a row per teacher,
student and course for each active or completed enrolment. If it drifted, a
teacher would see a student they no longer teach, or lose one they do, so
every test ends by comparing it with the join it stands for.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from courses.models import Course, Enrollment, EnrollmentStatus, Term
from growthcompass.rls import rls_context, rls_system_context
from students.models import Student
from tests.factories import CourseFactory, EnrollmentFactory, StudentFactory, TermFactory
from tests.rls.school import School

DEFINITION_SQL = """
SELECT c.teacher_id, e.student_id, c.id, t.starts_on
  FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN terms t ON t.id = c.term_id
 WHERE c.teacher_id IS NOT NULL AND e.status IN ('active', 'completed')
"""
TABLE_SQL = "SELECT teacher_id, student_id, course_id, term_starts_on FROM rls_teacher_students"


def _rows(sql: str) -> set[tuple[object, ...]]:
    with rls_system_context(reason="test: compare rls_teacher_students"), connection.cursor() as cursor:
        cursor.execute(sql)
        return set(cursor.fetchall())


def assert_table_matches_definition() -> None:
    table, definition = _rows(TABLE_SQL), _rows(DEFINITION_SQL)
    assert table == definition, f"missing {definition - table}, extra {table - definition}"


@pytest.mark.django_db
def test_every_enrolment_write_path_keeps_the_table_equal_to_its_definition(school: School) -> None:
    assert _rows(TABLE_SQL), "the school has visible enrolments"
    assert_table_matches_definition()
    with rls_system_context(reason="test: enrolment writes"):
        course = school.a.course
        newcomer = StudentFactory.create()
        enrolment = Enrollment.objects.create(student=newcomer, course=course, status=EnrollmentStatus.ACTIVE)
        assert_table_matches_definition()
        enrolment.status = EnrollmentStatus.DROPPED
        enrolment.save()
        assert_table_matches_definition()
        Enrollment.objects.filter(course=course).update(status=EnrollmentStatus.COMPLETED)
        assert_table_matches_definition()
        Enrollment.objects.bulk_create(
            [
                Enrollment(student=student, course=school.b.course, status=EnrollmentStatus.ACTIVE)
                for student in StudentFactory.create_batch(3)
            ]
        )
        assert_table_matches_definition()
        Enrollment.objects.filter(course=school.b.course, student__in=school.b.students).delete()
        assert_table_matches_definition()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE enrollments SET course_id = %s WHERE student_id = %s", [school.b.course.pk, newcomer.pk]
            )
        assert_table_matches_definition()


@pytest.mark.django_db
def test_course_and_term_changes_move_the_rows(school: School) -> None:
    with rls_system_context(reason="test: course and term writes"):
        Course.objects.filter(pk=school.a.course.pk).update(teacher=school.b.teacher)
        assert_table_matches_definition()
        Course.objects.filter(pk=school.b.course.pk).update(teacher=None)
        assert_table_matches_definition()
        Course.objects.filter(pk=school.a.course.pk).update(term=TermFactory.create())
        assert_table_matches_definition()
        Term.objects.filter(pk=school.a.course.term_id).update(starts_on=dt.date.today() + dt.timedelta(days=30))
        assert_table_matches_definition()
        # Enrolments protect their course: they go first, then the course.
        spare = CourseFactory.create(teacher=school.a.teacher, term=TermFactory.create())
        EnrollmentFactory.create(student=school.a.students[0], course=spare, status=EnrollmentStatus.ACTIVE)
        assert any(row[2] == spare.pk for row in _rows(TABLE_SQL))
        Enrollment.objects.filter(course=spare).delete()
        spare.delete()
        assert_table_matches_definition()


@pytest.mark.django_db
def test_visibility_follows_the_table(school: School) -> None:
    teacher = school.a.teacher
    with rls_system_context(reason="test: a new student for teacher a"):
        newcomer = StudentFactory.create()
    with rls_context(user=teacher):
        assert not Student.objects.filter(pk=newcomer.pk).exists()
    with rls_system_context(reason="test: enrol"):
        enrolment = EnrollmentFactory.create(student=newcomer, course=school.a.course, status=EnrollmentStatus.ACTIVE)
    with rls_context(user=teacher):
        assert Student.objects.filter(pk=newcomer.pk).exists()
    with rls_system_context(reason="test: drop"):
        Enrollment.objects.filter(pk=enrolment.pk).update(status=EnrollmentStatus.DROPPED)
    with rls_context(user=teacher):
        assert not Student.objects.filter(pk=newcomer.pk).exists()
    with rls_system_context(reason="test: the term moves to next month"):
        Enrollment.objects.filter(pk=enrolment.pk).update(status=EnrollmentStatus.ACTIVE)
        Term.objects.filter(pk=school.a.course.term_id).update(starts_on=dt.date.today() + dt.timedelta(days=30))
    with rls_context(user=teacher):
        assert not Student.objects.filter(pk__in=[s.pk for s in school.a.students]).exists()


@pytest.mark.django_db
def test_the_application_role_reads_only_its_own_teachers_rows(school: School) -> None:
    with rls_context(user=school.a.teacher), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT teacher_id FROM rls_teacher_students")
        assert cursor.fetchall() == [(school.a.teacher.pk,)]
        with pytest.raises(Exception, match="permission denied"):
            cursor.execute("DELETE FROM rls_teacher_students")


@pytest.mark.django_db
def test_truncating_enrolments_empties_the_table(school: School) -> None:
    assert _rows(TABLE_SQL)
    with rls_system_context(reason="test: truncate"), connection.cursor() as cursor:
        # The school's deferred foreign-key checks must run first (as seed_demo --reset does).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT gc_system_truncate(ARRAY['parsed_student_feedback', 'attendances', 'enrollments'])")
    assert _rows(TABLE_SQL) == set()
    assert_table_matches_definition()

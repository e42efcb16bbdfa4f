"""Who sees and writes what, through the ORM, Django's cursor and a raw psycopg connection (real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from attendance.models import Attendance, AttendanceStatus, ClassSession
from auditing.models import AuditLog
from courses.models import Course, Enrollment, Term
from feedback.models import ParsedStudentFeedback
from growthcompass.rls import rls_context, rls_scope, rls_system_context
from students.models import Guardian, Student
from tests.rls.school import Classroom, School

DOMAIN_MODELS = [Student, Guardian, Term, Course, Enrollment, ClassSession, Attendance, ParsedStudentFeedback]


def _ids(model: Any) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def _visible(classroom: Classroom) -> dict[Any, set[int]]:
    return {
        Student: {s.pk for s in classroom.students},
        Guardian: {g.pk for g in classroom.guardians},
        Attendance: {a.pk for a in classroom.attendances},
        ParsedStudentFeedback: {f.pk for f in classroom.feedback},
        ClassSession: {classroom.session.pk},
    }


def test_the_suite_runs_as_the_application_role_which_row_level_security_binds(school: School) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'students'")
        assert cursor.fetchone() == (True, True)


@pytest.mark.parametrize("model", [*DOMAIN_MODELS, AuditLog], ids=lambda m: m.__name__)
def test_no_context_reads_no_row(school: School, model: Any) -> None:
    with rls_system_context(reason="precondition"):
        assert model.objects.exists()
    assert not model.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {model._meta.db_table}")
        assert cursor.fetchone() == (0,)


def test_no_context_writes_are_refused_and_change_nothing(school: School) -> None:
    student = school.a.students[0]
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        Term.objects.create(name="Forged", starts_on=dt.date(2030, 1, 1), ends_on=dt.date(2030, 2, 1))
    assert Student.objects.filter(pk=student.pk).update(status="left") == 0
    assert Attendance.objects.filter(student=student).delete()[0] == 0
    with rls_system_context(reason="check"):
        assert not Term.objects.filter(name="Forged").exists()
        assert Student.objects.get(pk=student.pk).status == student.status
        assert Attendance.objects.filter(student=student).count() == 1


@pytest.mark.parametrize("who", ["a", "b"])
def test_a_teacher_reads_only_their_own_rows_of_every_table(school: School, who: str) -> None:
    mine, theirs = (school.a, school.b) if who == "a" else (school.b, school.a)
    with rls_context(user=mine.teacher):
        for model, expected in _visible(mine).items():
            assert _ids(model) == expected, model.__name__
        assert _ids(Course) == set(Course.objects.filter(teacher=mine.teacher).values_list("pk", flat=True))
        assert _ids(Course) >= {mine.course.pk} and theirs.course.pk not in _ids(Course)
        assert Enrollment.objects.exists() and not Enrollment.objects.exclude(course__teacher=mine.teacher).exists()
        assert not AuditLog.objects.exists()
        # Enrolled but hidden: a dropped enrolment, and a term that has not begun.
        assert not Student.objects.filter(pk__in=[s.pk for s in mine.hidden_students]).exists()
        assert not Student.objects.filter(pk=theirs.students[0].pk).exists()


def test_office_staff_read_every_domain_row_but_not_the_audit_log(school: School) -> None:
    with rls_system_context(reason="expected"):
        expected = {model: _ids(model) for model in DOMAIN_MODELS}
    with rls_context(user=school.office):
        assert {model: _ids(model) for model in DOMAIN_MODELS} == expected
        assert not AuditLog.objects.exists()


@pytest.mark.parametrize("who", ["admin", "administrators_member"])
def test_administrators_read_every_row_and_the_audit_log(school: School, who: str) -> None:
    with rls_system_context(reason="expected"):
        expected = {model: _ids(model) for model in [*DOMAIN_MODELS, AuditLog]}
    with rls_context(user=getattr(school, who)):
        assert {model: _ids(model) for model in [*DOMAIN_MODELS, AuditLog]} == expected
        assert expected[AuditLog]


def test_a_teacher_records_attendance_at_their_own_session_and_the_write_is_audited(school: School) -> None:
    attendance = school.a.attendances[0]
    with rls_context(user=school.a.teacher):
        assert Attendance.objects.filter(pk=attendance.pk).update(status=AttendanceStatus.LATE, minutes_late=5) == 1
    with rls_context(user=school.admin):
        entry = AuditLog.objects.filter(table_name="attendances", operation="UPDATE").latest("id")
        assert entry.row_pk == str(attendance.pk)


def test_a_teacher_cannot_write_attendance_or_feedback_for_another_teachers_session(school: School) -> None:
    theirs = school.b
    with rls_context(user=school.a.teacher):
        # Updates and deletes of rows the scope hides touch nothing...
        assert Attendance.objects.filter(pk=theirs.attendances[0].pk).update(note="forged") == 0
        assert ParsedStudentFeedback.objects.filter(pk=theirs.feedback[0].pk).update(raw_text="forged") == 0
        # ...and inserts are refused with the policy's error.
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Attendance.objects.create(student=theirs.students[1], session=theirs.session, status="present")
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            ParsedStudentFeedback.objects.create(
                student=theirs.students[0], session=theirs.session, author=school.a.teacher, raw_text="x", scores={}
            )
    with rls_system_context(reason="check"):
        assert Attendance.objects.get(pk=theirs.attendances[0].pk).note != "forged"
        assert Attendance.objects.filter(session=theirs.session).count() == len(theirs.attendances)


def test_a_teacher_cannot_move_their_attendance_row_to_another_teachers_session(school: School) -> None:
    with rls_context(user=school.a.teacher), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            Attendance.objects.filter(pk=school.a.attendances[0].pk).update(session=school.b.session)


@pytest.mark.parametrize(
    "write",
    [
        lambda s: Student.objects.filter(pk=s.a.students[0].pk).update(status="left"),
        lambda s: Course.objects.filter(pk=s.a.course.pk).update(name="renamed"),
        lambda s: Guardian.objects.filter(pk=s.a.guardians[0].pk).update(full_name="renamed"),
        lambda s: Enrollment.objects.filter(course=s.a.course).update(reason="renamed"),
        lambda s: ClassSession.objects.filter(pk=s.a.session.pk).update(topic="renamed"),
    ],
    ids=["student", "course", "guardian", "enrollment", "session"],
)
def test_a_teacher_writes_nothing_but_attendance_and_feedback(school: School, write: Any) -> None:
    with rls_context(user=school.a.teacher):
        assert write(school) == 0


def test_office_staff_write_domain_rows(school: School) -> None:
    with rls_context(user=school.office):
        assert Student.objects.filter(pk=school.b.students[0].pk).update(leaving_reason="moved") == 1
        Term.objects.create(name="Summer school", starts_on=dt.date(2031, 7, 1), ends_on=dt.date(2031, 8, 1))


def test_raw_sql_through_djangos_cursor_is_filtered_too(school: School) -> None:
    with rls_context(user=school.a.teacher), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM students ORDER BY id")
        assert {row[0] for row in cursor.fetchall()} == {s.pk for s in school.a.students}
        cursor.execute("SELECT count(*) FROM audit_log")
        assert cursor.fetchone() == (0,)


def test_the_scope_holds_inside_a_transaction_and_ends_with_its_block(school: School) -> None:
    with transaction.atomic():
        with rls_context(user=school.a.teacher):
            assert _ids(Student) == {s.pk for s in school.a.students}
        assert not Student.objects.exists()
        with rls_context(user=school.b.teacher):
            assert _ids(Student) == {s.pk for s in school.b.students}
        assert not Student.objects.exists()


def test_an_explicit_empty_scope_overrides_an_outer_one(school: School) -> None:
    with rls_context(user=school.admin), rls_scope(None):
        assert not Student.objects.exists()


def _raw_connection(**extra: Any) -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, **extra)


@pytest.mark.django_db(transaction=True)
def test_a_raw_psycopg_connection_on_the_application_role_sees_only_its_declared_scope(
    committed_school: School,
) -> None:
    school = committed_school
    with _raw_connection(autocommit=True) as raw:
        assert raw.execute("SELECT current_user").fetchone() == ("growthcompass_app",)
        assert raw.execute("SELECT count(*) FROM students").fetchone() == (0,)
        with raw.transaction():
            raw.execute("SELECT set_config('growthcompass.rls_kind', 'teacher', true)")
            raw.execute("SELECT set_config('growthcompass.rls_user', %s, true)", [str(school.b.teacher.pk)])
            ids = {row[0] for row in raw.execute("SELECT id FROM students").fetchall()}
        assert ids == {s.pk for s in school.b.students}
        # Transaction-local: nothing survives the transaction.
        assert raw.execute("SELECT count(*) FROM students").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute("TRUNCATE students")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute("ALTER TABLE students DISABLE ROW LEVEL SECURITY")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute("SELECT * FROM student_metrics_mv_rows")

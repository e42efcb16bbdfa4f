"""Every write path invalidates: read (cached), write, commit, read again -> the new value.

ORM save/delete invalidate in ``on_commit``: the very next read is fresh,
with or without a listener. Other paths are invalidated by the listener once
it has applied the trigger's notification (``listener.wait_for``); how long
that takes is measured by ``benchmarks/bench_cache.py``, not asserted here.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from courses.models import Course, Enrollment, EnrollmentStatus
from courses.selectors import course_roster, courses_active, student_active_enrollments
from courses.services import enrollment_change_status
from growthcompass.db.pooler import session_connection_params
from students.models import Guardian, GuardianRelationship, Student, StudentStatus
from students.selectors import student_get, student_guardians, students_by_ids
from students.services import student_leave
from tests.cache.conftest import the_course, the_student
from tests.factories import CourseFactory, EnrollmentFactory, GuardianFactory, StudentFactory, TermFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _psql() -> str:
    found = shutil.which("psql")
    if found:
        return found
    try:
        from growthcompass.devservers import bin_dir

        candidate = bin_dir() / "psql"
    except (ImportError, OSError, RuntimeError):
        pytest.skip("no psql client available")
    if not candidate.exists():
        pytest.skip("no psql client available")
    return str(candidate)


def psql_run(sql: str) -> None:
    """Run ``sql`` in a psql session on the suite's database, as the application role.

    A session of its own (behind a transaction pooler, the direct route): a session ``SET`` sent
    through the pooler would stay on its server connection, in force for whichever client runs there next.
    """
    db = session_connection_params()
    subprocess.run(
        [_psql(), "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-h", str(db.get("host") or "127.0.0.1"),
         "-p", str(db.get("port") or 5432), "-U", str(db["user"]), "-d", str(db["dbname"]), "-c", sql],
        check=True, capture_output=True, env={**os.environ, "PGPASSWORD": str(db.get("password") or "")},
    )  # fmt: skip


def cached(store, family: str, ident: int) -> bool:
    return bool(store.client.exists(store.key(family, ident)))


# -- ORM save and delete: fresh at once, no listener needed ------------------------------


def test_orm_save_is_fresh_on_the_next_read(cache_store):
    student = StudentFactory.create()
    assert the_student(student.pk).status == StudentStatus.ACTIVE
    assert cached(cache_store, "student", student.pk)

    student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.GRADUATED, reason="done")

    assert not cached(cache_store, "student", student.pk)
    assert the_student(student.pk).status == StudentStatus.GRADUATED


def test_orm_save_of_the_user_refreshes_the_student_name(cache_store):
    student = StudentFactory.create(user__first_name="Grace")
    assert the_student(student.pk).first_name == "Grace"
    assert cached(cache_store, "student", student.pk)  # the old name is what a stale read would return
    user = User.objects.get(pk=student.pk)
    user.first_name = "Ada"
    user.save()
    assert not cached(cache_store, "student", student.pk)
    assert the_student(student.pk).first_name == "Ada"


def test_orm_delete_is_fresh_on_the_next_read(cache_store):
    guardian = GuardianFactory.create()
    assert len(student_guardians(guardian.student_id)) == 1
    guardian.delete()
    assert student_guardians(guardian.student_id) == ()


def test_queryset_delete_is_fresh_on_the_next_read(cache_store):
    enrollment = EnrollmentFactory.create()
    assert [s.id for s in course_roster(enrollment.course_id)] == [enrollment.student_id]
    Enrollment.objects.filter(pk=enrollment.pk).delete()
    assert course_roster(enrollment.course_id) == ()


def test_enrolment_service_refreshes_roster_and_student_enrolments(cache_store):
    enrollment = EnrollmentFactory.create(status=EnrollmentStatus.ACTIVE)
    assert len(student_active_enrollments(enrollment.student_id)) == 1
    assert len(course_roster(enrollment.course_id)) == 1
    enrollment_change_status(enrollment=enrollment, status=EnrollmentStatus.DROPPED)
    assert student_active_enrollments(enrollment.student_id) == ()
    assert course_roster(enrollment.course_id) == ()


# -- Paths without signals: the listener ---------------------------------------------------


def test_queryset_update_is_fresh_once_the_listener_applied_it(listener, cache_store):
    student = StudentFactory.create(grade_level=7)
    assert the_student(student.pk).grade_level == 7
    listener.barrier()

    Student.objects.filter(pk=student.pk).update(grade_level=8)
    listener.wait_for("student", student.pk)

    assert the_student(student.pk).grade_level == 8


def test_bulk_update_is_fresh_once_the_listener_applied_it(listener, cache_store):
    students = [StudentFactory.create(grade_level=3) for _ in range(3)]
    assert {the_student(s.pk).grade_level for s in students} == {3}
    listener.barrier()

    for s in students:
        s.grade_level = 4
    Student.objects.bulk_update(students, ["grade_level"])
    listener.wait_for("student", students[-1].pk)

    assert {the_student(s.pk).grade_level for s in students} == {4}


def test_bulk_create_is_fresh_once_the_listener_applied_it(listener, cache_store):
    student = StudentFactory.create()
    assert student_guardians(student.pk) == ()
    listener.barrier()

    Guardian.objects.bulk_create(
        [
            Guardian(student=student, full_name="Grace Hopper", relationship=GuardianRelationship.GRANDPARENT),
            Guardian(student=student, full_name="Alan Turing", relationship=GuardianRelationship.OTHER),
        ]
    )
    listener.wait_for("student_guardians", student.pk)

    assert [g.full_name for g in student_guardians(student.pk)] == ["Alan Turing", "Grace Hopper"]


def test_bulk_create_of_enrolments_refreshes_roster_and_active_courses(listener, cache_store):
    course = CourseFactory.create()
    students = [StudentFactory.create() for _ in range(2)]
    assert course_roster(course.pk) == ()
    listener.barrier()

    Enrollment.objects.bulk_create(
        [Enrollment(student=s, course=course, status=EnrollmentStatus.ACTIVE) for s in students]
    )
    listener.wait_for("course_roster", course.pk)

    assert {s.id for s in course_roster(course.pk)} == {s.pk for s in students}


def test_raw_sql_is_fresh_once_the_listener_applied_it(listener, cache_store):
    teacher_course = CourseFactory.create()
    student = StudentFactory.create()
    assert the_student(student.pk).last_name != "Lovelace"
    assert the_course(teacher_course.pk).teacher_name
    listener.barrier()

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE auth_user SET last_name = %s WHERE id IN (%s, %s)",
            ["Lovelace", student.pk, teacher_course.teacher_id],
        )
    listener.wait_for("course", teacher_course.pk)
    listener.wait_for("student", student.pk)

    assert the_student(student.pk).last_name == "Lovelace"
    assert the_course(teacher_course.pk).teacher_name.endswith("Lovelace")


def test_raw_sql_term_rename_refreshes_its_courses(listener, cache_store):
    term = TermFactory.create(name="Spring")
    course = CourseFactory.create(term=term)
    assert the_course(course.pk).term_name == "Spring"
    listener.barrier()

    with connection.cursor() as cursor:
        cursor.execute("UPDATE terms SET name = %s WHERE id = %s", ["Summer", term.pk])
    listener.wait_for("course", course.pk)

    assert the_course(course.pk).term_name == "Summer"


def test_a_write_from_psql_is_fresh_once_the_listener_applied_it(listener, cache_store):
    course = CourseFactory.create(name="Algebra")
    assert the_course(course.pk).name == "Algebra"
    listener.barrier()

    # A psql session on the application role declares its scope (row-level security).
    psql_run(f"SET growthcompass.rls_kind = 'system'; UPDATE courses SET name = 'Geometry' WHERE id = {int(course.pk)}")
    listener.wait_for("course", course.pk)

    assert the_course(course.pk).name == "Geometry"


def test_deactivating_a_course_with_update_drops_it_from_active_courses(listener, cache_store):
    kept, dropped = CourseFactory.create(), CourseFactory.create()
    assert {c.id for c in courses_active()} == {kept.pk, dropped.pk}
    listener.barrier()

    Course.objects.filter(pk=dropped.pk).update(is_active=False)
    listener.wait_for("courses_active", 0)

    assert [c.id for c in courses_active()] == [kept.pk]


# -- Rolled-back writes ----------------------------------------------------------------------


def test_a_rolled_back_write_invalidates_nothing(listener, cache_store):
    student = StudentFactory.create()
    original = student_get(student.pk)
    listener.barrier()
    applied_before = len(listener.applied)

    with pytest.raises(RuntimeError), transaction.atomic():
        student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.WITHDRAWN, reason="x")
        Student.objects.filter(pk=student.pk).update(grade_level=12)
        raise RuntimeError("roll back")
    listener.barrier()

    assert cached(cache_store, "student", student.pk), "a rolled-back write deleted the entry"
    assert len(listener.applied) == applied_before + 1  # only the second barrier
    assert student_get(student.pk) == original


def test_a_read_inside_a_transaction_that_rolls_back_stores_nothing(cache_store):
    student = StudentFactory.create(grade_level=5)

    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE students SET grade_level = 6 WHERE id = %s", [student.pk])
        # A miss inside the transaction loads its uncommitted row...
        assert the_student(student.pk).grade_level == 6
        raise RuntimeError("roll back")

    # ... which never reached the cache.
    assert not cached(cache_store, "student", student.pk)
    assert the_student(student.pk).grade_level == 5


def test_a_transaction_reads_its_own_orm_writes(cache_store):
    student = StudentFactory.create()
    assert the_student(student.pk).status == StudentStatus.ACTIVE

    with transaction.atomic():
        student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.INACTIVE, reason="x")
        # The entry (committed state) is still in Redis; the read went past it.
        assert cached(cache_store, "student", student.pk)
        assert the_student(student.pk).status == StudentStatus.INACTIVE

    assert the_student(student.pk).status == StudentStatus.INACTIVE


def test_a_view_refresh_refreshes_cached_metrics(cache_store):
    from dashboards.refresh import materialized_view_refresh
    from dashboards.selectors import student_metrics

    student = StudentFactory.create()
    materialized_view_refresh(view="student_metrics_mv", concurrently=False)
    before = student_metrics(student.pk)
    assert before is not None and before.active_enrollments == 0
    EnrollmentFactory.create(student=student)
    assert student_metrics(student.pk) == before  # the view has not changed yet

    materialized_view_refresh(view="student_metrics_mv", concurrently=True)

    after = student_metrics(student.pk)
    assert after is not None and after.active_enrollments == 1


def test_a_batch_read_inside_a_transaction_sees_its_own_orm_writes(cache_store):
    student, other = StudentFactory.create(), StudentFactory.create()
    students_by_ids([student.pk, other.pk])

    with transaction.atomic():
        student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.WITHDRAWN, reason="x")
        found = students_by_ids([student.pk, other.pk])
        assert (found[student.pk].status, found[other.pk].status) == (StudentStatus.WITHDRAWN, StudentStatus.ACTIVE)

    assert the_student(student.pk).status == StudentStatus.WITHDRAWN

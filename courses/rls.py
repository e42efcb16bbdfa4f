"""Row-level security of terms, courses and enrolments, and what a teacher sees of students.

A teacher reads the courses they teach, those courses' enrolments, and the
students (and their guardians) with an active or completed enrolment in one
of them in a term that has begun. A teacher's courses come from a SECURITY
DEFINER function (``gc_rls_teacher_course_ids``, migration 0005) that filters
by the scope itself, so the planner hashes the set once per statement and a
policy never recurses into another table's policy. A teacher's students are
rows of ``rls_teacher_students`` (migration 0008), probed per row through its
primary key.
"""

from __future__ import annotations

from growthcompass.rls.policies import HAS_SCOPE, IS_TEACHER, TEACHER_ID, Policy, staff_policy

TEACHER_COURSES = "(SELECT gc_rls_teacher_course_ids())"


def teacher_sees_student(table: str, column: str) -> str:
    """A teacher sees ``table.column``'s student: one probe of ``rls_teacher_students``'s primary key.

    The table (courses migration 0008) holds each teacher's students, kept by
    triggers on enrolments, courses and terms. As a correlated ``EXISTS`` the
    planner probes it once per row for a point read and hashes it for a scan,
    where the old ``id IN (SELECT set-returning function)`` built the teacher's
    whole student set for every statement. The column is qualified by its
    table: ``rls_teacher_students`` has a ``student_id`` of its own.
    """
    if not (table.replace("_", "").isalnum() and column.replace("_", "").isalnum()):
        raise ValueError(f"not plain identifiers: {table!r}, {column!r}")
    return (
        f"{IS_TEACHER} AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = {TEACHER_ID} "  # noqa: S608 - identifiers checked above
        f"AND r.student_id = {table}.{column} AND r.term_starts_on <= current_date)"
    )


def teacher_course(column: str) -> str:
    return f"{IS_TEACHER} AND {column} IN {TEACHER_COURSES}"


RLS_TABLES = ("terms", "courses", "enrollments")
POLICIES = (
    # Terms are the calendar, not anybody's data: any scope reads them.
    Policy("terms", "terms_read", command="SELECT", using=HAS_SCOPE),
    staff_policy("terms"),
    staff_policy("courses"),
    Policy("courses", "courses_teacher_read", command="SELECT", using=f"teacher_id = {TEACHER_ID}"),
    staff_policy("enrollments"),
    Policy("enrollments", "enrollments_teacher_read", command="SELECT", using=teacher_course("course_id")),
    Policy("students", "students_teacher_read", command="SELECT", using=teacher_sees_student("students", "id")),
    Policy(
        "guardians", "guardians_teacher_read", command="SELECT", using=teacher_sees_student("guardians", "student_id")
    ),
)

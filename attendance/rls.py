"""Row-level security of sessions and attendance: a teacher reads and records only their own sessions'."""

from __future__ import annotations

from courses.rls import teacher_course, teacher_sees_student
from growthcompass.rls.policies import IS_TEACHER, Policy, staff_policy

TEACHER_SESSIONS = "(SELECT gc_rls_teacher_session_ids())"


def teacher_session(column: str) -> str:
    return f"{IS_TEACHER} AND {column} IN {TEACHER_SESSIONS}"


def teacher_writes(table: str) -> str:
    """A teacher records a row at their own session, about a student they can see."""
    return f"{teacher_session('session_id')} AND {teacher_sees_student(table, 'student_id')}"


_TEACHER_WRITES = teacher_writes("attendances")

RLS_TABLES = ("class_sessions", "attendances")
POLICIES = (
    staff_policy("class_sessions"),
    Policy("class_sessions", "class_sessions_teacher_read", command="SELECT", using=teacher_course("course_id")),
    staff_policy("attendances"),
    Policy("attendances", "attendances_teacher_read", command="SELECT", using=teacher_session("session_id")),
    Policy("attendances", "attendances_teacher_insert", command="INSERT", check=_TEACHER_WRITES),
    Policy("attendances", "attendances_teacher_update", command="UPDATE", using=_TEACHER_WRITES, check=_TEACHER_WRITES),
)

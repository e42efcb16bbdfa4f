"""Row-level security of sessions and attendance: a teacher reads and records only their own sessions'."""

from __future__ import annotations

from courses.rls import TEACHER_COURSES, TEACHER_STUDENTS
from growthcompass.rls.policies import Policy, staff_policy

TEACHER_SESSIONS = "(SELECT gc_rls_teacher_session_ids())"
# A teacher records attendance at their own session, of a student they can see.
_TEACHER_WRITES = f"session_id IN {TEACHER_SESSIONS} AND student_id IN {TEACHER_STUDENTS}"

RLS_TABLES = ("class_sessions", "attendances")
POLICIES = (
    staff_policy("class_sessions"),
    Policy("class_sessions", "class_sessions_teacher_read", command="SELECT", using=f"course_id IN {TEACHER_COURSES}"),
    staff_policy("attendances"),
    Policy("attendances", "attendances_teacher_read", command="SELECT", using=f"session_id IN {TEACHER_SESSIONS}"),
    Policy("attendances", "attendances_teacher_insert", command="INSERT", check=_TEACHER_WRITES),
    Policy("attendances", "attendances_teacher_update", command="UPDATE", using=_TEACHER_WRITES, check=_TEACHER_WRITES),
)

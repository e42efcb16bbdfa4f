"""Row-level security of parsed feedback: a teacher reads what they wrote or what concerns their sessions.

They record feedback only for their own sessions, about students they can see.
"""

from __future__ import annotations

from attendance.rls import TEACHER_SESSIONS
from courses.rls import TEACHER_STUDENTS
from growthcompass.rls.policies import TEACHER_ID, Policy, staff_policy

_TEACHER_WRITES = f"session_id IN {TEACHER_SESSIONS} AND student_id IN {TEACHER_STUDENTS}"

RLS_TABLES = ("parsed_student_feedback",)
POLICIES = (
    staff_policy("parsed_student_feedback"),
    Policy(
        "parsed_student_feedback",
        "parsed_student_feedback_teacher_read",
        command="SELECT",
        using=f"author_id = {TEACHER_ID} OR session_id IN {TEACHER_SESSIONS}",
    ),
    Policy(
        "parsed_student_feedback", "parsed_student_feedback_teacher_insert", command="INSERT", check=_TEACHER_WRITES
    ),
    Policy(
        "parsed_student_feedback",
        "parsed_student_feedback_teacher_update",
        command="UPDATE",
        using=_TEACHER_WRITES,
        check=_TEACHER_WRITES,
    ),
)

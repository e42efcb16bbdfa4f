"""Row-level security of parsed feedback: a teacher reads what they wrote or what concerns their sessions.

They record feedback only for their own sessions, about students they can see.
"""

from __future__ import annotations

from attendance.rls import TEACHER_SESSIONS, teacher_writes
from growthcompass.rls.policies import IS_TEACHER, TEACHER_ID, Policy, staff_policy

_TEACHER_WRITES = teacher_writes("parsed_student_feedback")

RLS_TABLES = ("parsed_student_feedback",)
POLICIES = (
    staff_policy("parsed_student_feedback"),
    Policy(
        "parsed_student_feedback",
        "parsed_student_feedback_teacher_read",
        command="SELECT",
        using=f"{IS_TEACHER} AND (author_id = {TEACHER_ID} OR session_id IN {TEACHER_SESSIONS})",
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

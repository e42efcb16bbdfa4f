"""Row-level security of terms, courses and enrolments, and what a teacher sees of students.

A teacher reads the courses they teach, those courses' enrolments, and the
students (and their guardians) with an active or completed enrolment in one
of them in a term that has begun. The sets come from SECURITY DEFINER
functions (``gc_rls_teacher_course_ids``, ``gc_rls_teacher_student_ids``,
created in this app's migration 0005) that filter by the scope themselves:
the planner hashes each set once per statement, and a policy never recurses
into another table's policy.
"""

from __future__ import annotations

from growthcompass.rls.policies import HAS_SCOPE, TEACHER_ID, Policy, staff_policy

TEACHER_COURSES = "(SELECT gc_rls_teacher_course_ids())"
TEACHER_STUDENTS = "(SELECT gc_rls_teacher_student_ids())"

RLS_TABLES = ("terms", "courses", "enrollments")
POLICIES = (
    # Terms are the calendar, not anybody's data: any scope reads them.
    Policy("terms", "terms_read", command="SELECT", using=HAS_SCOPE),
    staff_policy("terms"),
    staff_policy("courses"),
    Policy("courses", "courses_teacher_read", command="SELECT", using=f"teacher_id = {TEACHER_ID}"),
    staff_policy("enrollments"),
    Policy("enrollments", "enrollments_teacher_read", command="SELECT", using=f"course_id IN {TEACHER_COURSES}"),
    Policy("students", "students_teacher_read", command="SELECT", using=f"id IN {TEACHER_STUDENTS}"),
    Policy("guardians", "guardians_teacher_read", command="SELECT", using=f"student_id IN {TEACHER_STUDENTS}"),
)

"""Writes for attendance."""

from __future__ import annotations

from django.contrib.auth.models import User

from attendance.models import Attendance, AttendanceStatus, ClassSession
from students.models import Student


def attendance_record(
    *,
    student: Student,
    session: ClassSession,
    status: str,
    minutes_late: int = 0,
    recorded_by: User | None = None,
) -> Attendance:
    """Record or correct one student's attendance at one session (idempotent per pair)."""
    if status != AttendanceStatus.LATE:
        minutes_late = 0
    attendance, _ = Attendance.objects.update_or_create(
        student=student,
        session=session,
        defaults={"status": status, "minutes_late": minutes_late, "recorded_by": recorded_by},
    )
    return attendance

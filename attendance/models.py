"""Scheduled class sessions and who attended them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from attendance.fields import SessionDateField
from courses.models import Course
from students.models import Student


class ClassSessionQuerySet(models.QuerySet["ClassSession"]):
    def held(self) -> ClassSessionQuerySet:
        return self.filter(is_cancelled=False)


class ClassSession(models.Model):
    # Attendance history hangs off sessions; deleting a course must not erase it.
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    session_date = models.DateField()
    starts_at = models.TimeField()
    ends_at = models.TimeField()
    topic = models.CharField(max_length=200, blank=True)
    is_cancelled = models.BooleanField(default=False)

    objects = ClassSessionQuerySet.as_manager()

    class Meta:
        db_table = "class_sessions"
        ordering = ["-session_date", "starts_at"]
        indexes = [models.Index(fields=["session_date"], name="idx_class_sessions_date")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="class_sessions_ends_after_start"),
            models.UniqueConstraint(
                fields=["course", "session_date", "starts_at"], name="class_sessions_unique_course_slot"
            ),
            # What the attendance rows' composite foreign key (session_id, session_date) references.
            models.UniqueConstraint(fields=["id", "session_date"], name="class_sessions_id_session_date_key"),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} on {self.session_date} {self.starts_at:%H:%M}"


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", "Present"
    LATE = "late", "Late"
    ABSENT = "absent", "Absent"
    EXCUSED = "excused", "Excused"


class Attendance(models.Model):
    # The composite index below leads with student_id, so the FK's own index
    # would be redundant write cost on the largest table.
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="attendances", db_index=False)
    # Covered by the (session, student) unique constraint.
    session = models.ForeignKey(ClassSession, on_delete=models.PROTECT, related_name="attendances", db_index=False)
    # The session's date, copied from it on save: the partition key of attendances (migration
    # 0007). A composite foreign key (session_id, session_date) -> class_sessions (id,
    # session_date), ON UPDATE CASCADE, keeps it equal to the session's (attendance/fields.py).
    session_date = SessionDateField()
    status = models.CharField(max_length=16, choices=AttendanceStatus.choices)
    minutes_late = models.PositiveSmallIntegerField(default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attendances_recorded",
    )
    created_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "attendances"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="idx_attendances_created_at"),
            models.Index(fields=["student", "session"], name="idx_attendance_student_session"),
            # "Who was late, and by how much": partial, so only late rows (a few per cent)
            # carry an entry and every other attendance write pays nothing for it.
            models.Index(
                fields=["-minutes_late"], name="idx_attendances_late", condition=Q(status=AttendanceStatus.LATE)
            ),
        ]
        constraints = [
            # One attendance per student and session. In the database the constraint is
            # (session_id, student_id, session_date): a unique constraint on a partitioned table
            # must hold the partition key. It is the same rule, because the composite foreign key
            # makes session_date a function of session_id: two rows of one session and student
            # have the same session_date, so they collide on the three columns too (and land in
            # the same partition, where the unique index lives). Declared here on the two
            # columns so that forms (the admin) check it before saving (migration 0007).
            models.UniqueConstraint(fields=["session", "student"], name="attendances_unique_session_student"),
            models.CheckConstraint(condition=Q(status__in=AttendanceStatus.values), name="attendances_status_valid"),
            models.CheckConstraint(
                condition=Q(minutes_late__lte=600)
                & (Q(status=AttendanceStatus.LATE) | Q(minutes_late=0)),
                name="attendances_minutes_late_only_when_late",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} at {self.session_id}: {self.status}"

"""Terms, courses and the enrolments that tie students to them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from students.models import GradeLevel, Student


class Term(models.Model):
    name = models.CharField(max_length=80, unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        db_table = "terms"
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gt=F("starts_on")), name="terms_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name


class Subject(models.TextChoices):
    MATHEMATICS = "mathematics", "Mathematics"
    ENGLISH = "english", "English"
    SCIENCE = "science", "Science"
    HISTORY = "history", "History"
    GEOGRAPHY = "geography", "Geography"
    LANGUAGES = "languages", "Languages"
    ARTS = "arts", "Arts"
    COMPUTING = "computing", "Computing"


class CourseQuerySet(models.QuerySet["Course"]):
    def active(self) -> CourseQuerySet:
        return self.filter(is_active=True)


class Course(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=150)
    subject = models.CharField(max_length=32, choices=Subject.choices)
    grade_level = models.PositiveSmallIntegerField(choices=GradeLevel.choices)
    # A term with courses is history: removing it must be a deliberate act.
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="courses")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="courses_taught",
    )
    capacity = models.PositiveSmallIntegerField(default=30)
    is_active = models.BooleanField(default=True)

    objects = CourseQuerySet.as_manager()

    class Meta:
        db_table = "courses"
        ordering = ["code"]
        indexes = [models.Index(fields=["grade_level", "is_active"], name="idx_courses_grade_active")]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1, capacity__lte=500), name="courses_capacity_range"),
            models.CheckConstraint(
                condition=Q(grade_level__gte=GradeLevel.KINDERGARTEN, grade_level__lte=GradeLevel.GRADE_12),
                name="courses_grade_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class EnrollmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    DROPPED = "dropped", "Dropped"
    WAITLISTED = "waitlisted", "Waitlisted"


# The enrolment lifecycle: which status may follow which. Completed and dropped
# are final; a dropped student re-joins through a new decision, not an edit.
ENROLLMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    EnrollmentStatus.PENDING: frozenset(
        {EnrollmentStatus.ACTIVE, EnrollmentStatus.WAITLISTED, EnrollmentStatus.DROPPED}
    ),
    EnrollmentStatus.WAITLISTED: frozenset({EnrollmentStatus.ACTIVE, EnrollmentStatus.DROPPED}),
    EnrollmentStatus.ACTIVE: frozenset({EnrollmentStatus.COMPLETED, EnrollmentStatus.DROPPED}),
    EnrollmentStatus.COMPLETED: frozenset(),
    EnrollmentStatus.DROPPED: frozenset(),
}
ENDED_ENROLLMENT_STATUSES = frozenset({EnrollmentStatus.COMPLETED, EnrollmentStatus.DROPPED})


class EnrollmentQuerySet(models.QuerySet["Enrollment"]):
    def active(self) -> EnrollmentQuerySet:
        return self.filter(status=EnrollmentStatus.ACTIVE)


class Enrollment(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.PENDING)
    enrolled_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        db_table = "enrollments"
        ordering = ["-enrolled_at"]
        indexes = [models.Index(fields=["course", "status"], name="idx_enrollments_course_status")]
        constraints = [
            models.UniqueConstraint(fields=["student", "course"], name="enrollments_unique_student_course"),
            models.CheckConstraint(condition=Q(status__in=EnrollmentStatus.values), name="enrollments_status_valid"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("enrolled_at")),
                name="enrollments_ended_after_enrolled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.course_id} ({self.status})"


class Teacher(User):
    """A teacher's login (``auth_user``), as the courses app watches it.

    A proxy, so the triggers that invalidate cached courses when a teacher's
    name changes (``courses.cache``) live in this app's migrations.
    """

    class Meta:
        proxy = True

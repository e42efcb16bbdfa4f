"""Students and their guardians.

A ``Student`` shares its primary key with the auth user (``students.id =
auth_user.id``) so a student's login and record are one identity, as in the
original schema.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q


class GradeLevel(models.IntegerChoices):
    """Stored as an integer so "grade 7 and above" compares numerically.

    Comparing labels would put 'Grade 10' before 'Grade 7'.
    """

    KINDERGARTEN = 0, "Kindergarten"
    GRADE_1 = 1, "Grade 1"
    GRADE_2 = 2, "Grade 2"
    GRADE_3 = 3, "Grade 3"
    GRADE_4 = 4, "Grade 4"
    GRADE_5 = 5, "Grade 5"
    GRADE_6 = 6, "Grade 6"
    GRADE_7 = 7, "Grade 7"
    GRADE_8 = 8, "Grade 8"
    GRADE_9 = 9, "Grade 9"
    GRADE_10 = 10, "Grade 10"
    GRADE_11 = 11, "Grade 11"
    GRADE_12 = 12, "Grade 12"


class StudentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    GRADUATED = "graduated", "Graduated"
    WITHDRAWN = "withdrawn", "Withdrawn"


class StudentQuerySet(models.QuerySet["Student"]):
    def active(self) -> StudentQuerySet:
        return self.filter(status=StudentStatus.ACTIVE)

    def in_grade_at_least(self, grade: int) -> StudentQuerySet:
        return self.filter(grade_level__gte=grade)


class Student(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        db_column="id",
        on_delete=models.CASCADE,
        related_name="student",
    )
    student_number = models.CharField(max_length=20, unique=True)
    grade_level = models.PositiveSmallIntegerField(choices=GradeLevel.choices)
    status = models.CharField(max_length=16, choices=StudentStatus.choices, default=StudentStatus.ACTIVE)
    enrolled_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)
    leaving_reason = models.CharField(max_length=200, blank=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        db_table = "students"
        ordering = ["student_number"]
        indexes = [models.Index(fields=["grade_level", "status"], name="idx_students_grade_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade_level__gte=GradeLevel.KINDERGARTEN, grade_level__lte=GradeLevel.GRADE_12),
                name="students_grade_level_range",
            ),
            models.CheckConstraint(condition=Q(status__in=StudentStatus.values), name="students_status_valid"),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("enrolled_on")),
                name="students_left_after_enrolled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.student_number})"

    @property
    def full_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class GuardianRelationship(models.TextChoices):
    MOTHER = "mother", "Mother"
    FATHER = "father", "Father"
    GUARDIAN = "guardian", "Legal guardian"
    GRANDPARENT = "grandparent", "Grandparent"
    OTHER = "other", "Other"


class Guardian(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardians")
    full_name = models.CharField(max_length=150)
    relationship = models.CharField(max_length=16, choices=GuardianRelationship.choices)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    is_primary = models.BooleanField(default=False)
    is_emergency_contact = models.BooleanField(default=False)

    class Meta:
        db_table = "guardians"
        ordering = ["student_id", "-is_primary", "full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"], condition=Q(is_primary=True), name="guardians_one_primary_per_student"
            ),
            models.CheckConstraint(
                condition=Q(relationship__in=GuardianRelationship.values), name="guardians_relationship_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_relationship_display()})"


class StudentAccount(User):
    """A student's login (``auth_user``), as the students app watches it.

    A proxy, so the triggers that invalidate cached students when a name
    changes (``students.cache``) live in this app's migrations, not in
    ``django.contrib.auth``'s.
    """

    class Meta:
        proxy = True

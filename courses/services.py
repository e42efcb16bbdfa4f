"""Writes for courses and enrolments."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from courses.models import (
    ENDED_ENROLLMENT_STATUSES,
    ENROLLMENT_TRANSITIONS,
    Course,
    Enrollment,
    EnrollmentStatus,
)
from students.models import Student


class EnrollmentTransitionError(ValueError):
    """A status change the enrolment lifecycle does not allow."""


@transaction.atomic
def enrollment_create(*, student: Student, course: Course, status: str = EnrollmentStatus.ACTIVE) -> Enrollment:
    """Enrol ``student``; a full course puts them on the waitlist instead of refusing."""
    # Lock the course row so two concurrent enrolments cannot both take the last seat.
    locked = Course.objects.select_for_update().get(pk=course.pk)
    if status == EnrollmentStatus.ACTIVE:
        taken = Enrollment.objects.filter(course=locked, status=EnrollmentStatus.ACTIVE).count()
        if taken >= locked.capacity:
            status = EnrollmentStatus.WAITLISTED
    return Enrollment.objects.create(student=student, course=locked, status=status)


@transaction.atomic
def enrollment_change_status(*, enrollment: Enrollment, status: str, reason: str = "") -> Enrollment:
    """Move an enrolment along its lifecycle, stamping ``ended_at`` when it ends."""
    allowed = ENROLLMENT_TRANSITIONS[enrollment.status]
    if status not in allowed:
        raise EnrollmentTransitionError(
            f"An enrolment cannot go from {enrollment.status} to {status}; "
            f"allowed: {', '.join(sorted(allowed)) or 'none (final state)'}"
        )
    enrollment.status = status
    enrollment.reason = reason
    if status in ENDED_ENROLLMENT_STATUSES:
        enrollment.ended_at = timezone.now()
    enrollment.save(update_fields=["status", "reason", "ended_at"])
    return enrollment

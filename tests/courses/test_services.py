from __future__ import annotations

import pytest

from courses.models import EnrollmentStatus
from courses.services import EnrollmentTransitionError, enrollment_change_status, enrollment_create
from tests.factories import CourseFactory, EnrollmentFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_enrollment_create_waitlists_when_course_is_full() -> None:
    course = CourseFactory.create(capacity=1)
    first = enrollment_create(student=StudentFactory.create(), course=course)
    second = enrollment_create(student=StudentFactory.create(), course=course)
    assert (first.status, second.status) == (EnrollmentStatus.ACTIVE, EnrollmentStatus.WAITLISTED)


def test_dropping_an_active_enrollment_stamps_ended_at() -> None:
    enrollment = EnrollmentFactory.create(status=EnrollmentStatus.ACTIVE)
    enrollment_change_status(enrollment=enrollment, status=EnrollmentStatus.DROPPED, reason="moved away")
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.DROPPED
    assert enrollment.ended_at is not None
    assert enrollment.reason == "moved away"


def test_completed_enrollment_cannot_be_reopened() -> None:
    enrollment = EnrollmentFactory.create(status=EnrollmentStatus.COMPLETED)
    with pytest.raises(EnrollmentTransitionError, match="from completed to active"):
        enrollment_change_status(enrollment=enrollment, status=EnrollmentStatus.ACTIVE)
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED

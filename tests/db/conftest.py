"""Fixtures for the database-layer tests: real servers, run-time aliases, clean routing state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from growthcompass.db.router import replica_health, reset_request_state
from tests.db.servers import StreamingPair
from tests.factories import (
    ClassSessionFactory,
    CourseFactory,
    EnrollmentFactory,
    FeedbackFactory,
    GuardianFactory,
    StudentFactory,
    TermFactory,
)


@pytest.fixture(autouse=True)
def clean_routing_state() -> Iterator[None]:
    """Each test starts with no remembered write and a replica not marked down."""
    reset_request_state()
    replica_health.reset()
    yield
    reset_request_state()
    replica_health.reset()


@pytest.fixture
def db_unblocked(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access without a test transaction, for tests that add aliases at run time.

    A Django TestCase forbids every configured alias it was not told about
    when it started, which run-time aliases never are. Tests using this must
    not write to the test database (nothing rolls it back).
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="module")
def streaming_pair() -> Iterator[StreamingPair]:
    """A private primary and a replica streaming from it (unix sockets only, under a temp dir)."""
    pair = StreamingPair()
    try:
        yield pair.start()
    finally:
        pair.close()


@pytest.fixture
def school(db: None) -> dict[str, Any]:
    """A small, varied school: the expectations below are computed from it with the plain ORM."""
    students = [
        StudentFactory.create(grade_level=grade, status=status, left_on=left_on, leaving_reason=reason)
        for grade, status, left_on, reason in [
            (3, "active", None, ""),
            (7, "active", None, ""),
            (7, "inactive", dt.date(2025, 6, 30), "moved away"),
            (10, "graduated", dt.date(2025, 7, 1), "graduated"),
            (12, "withdrawn", dt.date(2025, 3, 1), "50% scholarship_ended"),
        ]
    ]
    for student, name in zip(
        students, ["Ann 50% Off", "Bob_Smith", "bob smith", "ÅSA Öberg", "Zoë \\ Backslash"], strict=True
    ):
        GuardianFactory.create(student=student, full_name=name, email=f"{name.split()[0].lower()}@example.org")
    term = TermFactory.create(name="Autumn", starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2025, 12, 19))
    courses = [
        CourseFactory.create(code="MATH-7", grade_level=7, term=term, capacity=20, is_active=True),
        CourseFactory.create(code="ART-10", grade_level=10, term=term, capacity=12, is_active=False, teacher=None),
    ]
    base = timezone.make_aware(dt.datetime(2025, 9, 1, 8, 0))
    for offset, student in enumerate(students[:3]):
        EnrollmentFactory.create(student=student, course=courses[0], enrolled_at=base + dt.timedelta(days=offset))
    for hour in (9, 11, 14):
        ClassSessionFactory.create(course=courses[0], starts_at=dt.time(hour, 0), ends_at=dt.time(hour, 45))
    for sentiment in (Decimal("-0.500"), Decimal("0.125"), Decimal("0.875"), None):
        FeedbackFactory.create(student=students[1], sentiment=sentiment)
    return {"students": students, "courses": courses, "term": term}

"""Writes for parsed teacher feedback."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import User

from attendance.models import ClassSession
from feedback.models import ParsedStudentFeedback
from students.models import Student


def feedback_record(
    *,
    student: Student,
    raw_text: str,
    scores: dict[str, int],
    author: User | None = None,
    session: ClassSession | None = None,
    sentiment: Decimal | None = None,
    tags: list[str] | None = None,
) -> ParsedStudentFeedback:
    """Store one parsed feedback, validated before it reaches the database's own checks."""
    feedback = ParsedStudentFeedback(
        student=student,
        session=session,
        author=author,
        raw_text=raw_text,
        scores=scores,
        sentiment=sentiment,
        tags=tags or [],
    )
    feedback.full_clean()
    feedback.save(force_insert=True)
    return feedback

"""The metrics of ``student_metrics_mv`` computed live from the base tables through the ORM.

The baseline the benchmark compares the view with, and an exact answer for
the rare caller that cannot accept any staleness.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import (
    DateField,
    DateTimeField,
    DecimalField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf, Round, TruncDate
from django.utils import timezone

from attendance.models import Attendance, AttendanceStatus, ClassSession
from courses.models import Enrollment, EnrollmentStatus
from feedback.models import ParsedStudentFeedback
from feedback.scores import SCORE_DIMENSIONS
from students.models import Student

__all__ = ["student_metrics_live"]

_ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
_INTEGER: IntegerField[int, int] = IntegerField()
_RATE: DecimalField[Decimal, Decimal] = DecimalField(max_digits=5, decimal_places=2)
_SCORE: DecimalField[Decimal, Decimal] = DecimalField(max_digits=3, decimal_places=2)


def _scalar(queryset: QuerySet[Any], function: str, expression: Any, output_field: Any) -> Subquery:
    """``(SELECT <function>(<expression>) FROM ...)``: one aggregate over a correlated queryset.

    An aggregate wrapped in ``Func`` is invisible to the ORM's GROUP BY logic,
    so the subquery aggregates over all its rows and yields exactly one value.
    """
    aggregate = Func(expression, function=function, output_field=output_field)
    return Subquery(queryset.order_by().values(value=aggregate), output_field=output_field)


class _Numeric(Func):
    """``(expr)::numeric`` -- ``Cast`` to a ``DecimalField`` insists on a precision."""

    template = "(%(expressions)s)::numeric"
    output_field = DecimalField()


def _score(dimension: str) -> _Numeric:
    return _Numeric(KT(f"scores__{dimension}"))


def _count(queryset: QuerySet[Any]) -> Coalesce:
    return Coalesce(_scalar(queryset, "COUNT", F("pk"), _INTEGER), 0, output_field=_INTEGER)


def student_metrics_live(
    students: QuerySet[Student] | None = None, *, today: dt.date | None = None
) -> QuerySet[Student]:
    """``students`` annotated with every column of ``StudentMetrics``, computed now from the base tables.

    Same definitions as the view (see ``dashboards.models``); one
    correlated subquery per column, so it costs a few index probes per column
    per student -- fine for one student, far too slow for a ranked list.
    """
    today = today or timezone.localdate()
    held = Attendance.objects.filter(
        student=OuterRef("pk"), session__is_cancelled=False, session__session_date__lte=today
    )
    scheduled = ClassSession.objects.filter(is_cancelled=False, session_date__lte=today).filter(
        Q(course__enrollments__student=OuterRef("pk"))
        & (
            Q(course__enrollments__status__in=(EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED))
            | Q(
                course__enrollments__status=EnrollmentStatus.DROPPED,
                session_date__lt=TruncDate("course__enrollments__ended_at"),
            )
        )
    )
    feedback = ParsedStudentFeedback.objects.filter(student=OuterRef("pk"))
    score_columns = {
        f"avg_{dimension}": Round(
            _scalar(feedback, "AVG", _score(dimension), DecimalField()),
            2,
            output_field=_SCORE,
        )
        for dimension in SCORE_DIMENSIONS
    }
    scores_total = sum(
        (Coalesce(_score(d), Value(Decimal(0))) for d in SCORE_DIMENSIONS[1:]),
        start=Coalesce(_score(SCORE_DIMENSIONS[0]), Value(Decimal(0))),
    )
    scores_counted = sum(
        (Func(KT(f"scores__{d}"), function="COUNT", output_field=_INTEGER) for d in SCORE_DIMENSIONS[1:]),
        start=Func(KT(f"scores__{SCORE_DIMENSIONS[0]}"), function="COUNT", output_field=_INTEGER),
    )
    average_score = Subquery(
        feedback.order_by().values(
            value=Func(scores_total, function="SUM", output_field=DecimalField())
            / NullIf(scores_counted, 0, output_field=_INTEGER)
        ),
        output_field=DecimalField(),
    )
    attended = F("present_count") + F("late_count")
    return (
        (students if students is not None else Student.objects.all())
        .select_related("user")
        .annotate(
            active_enrollments=_count(
                Enrollment.objects.filter(student=OuterRef("pk"), status=EnrollmentStatus.ACTIVE)
            ),
            sessions_scheduled=_count(scheduled),
            present_count=_count(held.filter(status=AttendanceStatus.PRESENT)),
            late_count=_count(held.filter(status=AttendanceStatus.LATE)),
            absent_count=_count(held.filter(status=AttendanceStatus.ABSENT)),
            excused_count=_count(held.filter(status=AttendanceStatus.EXCUSED)),
            last_attended_on=_scalar(held.filter(status__in=_ATTENDED), "MAX", F("session__session_date"), DateField()),
            feedback_count=_count(feedback),
            last_feedback_at=_scalar(feedback, "MAX", F("parsed_at"), DateTimeField()),
            avg_score=Round(average_score, 2, output_field=_SCORE),
            **score_columns,
        )
        .annotate(
            attendance_rate=Round(
                _Numeric(Value(100) * attended) / NullIf(attended + F("absent_count"), 0, output_field=_INTEGER),
                2,
                output_field=_RATE,
            )
        )
    )

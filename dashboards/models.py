"""Per-student dashboard metrics, read from the ``student_metrics_mv`` materialized view.

The view is created (and only ever changed) by migrations; ``StudentMetrics``
is an unmanaged model over it so views and the admin read it through the ORM.
``ViewRefresh`` records every refresh so anyone can tell how old the numbers
are (``dashboards.refresh.view_age``).

Definitions (the view's SQL in ``students/migrations/0002_student_metrics.py``,
where the view was created before this app took it over,
is the source of truth; the README repeats them for staff):

* *sessions scheduled* -- held (not cancelled) sessions dated up to today of the
  courses the student takes: every such session of an active or completed
  enrolment, and those of a dropped enrolment dated before the day it ended.
  Pending and waitlisted enrolments expect no attendance.
* *present / late / absent / excused* -- attendance records on held sessions
  dated up to today (records on cancelled sessions are ignored).
* *attendance rate* -- percent, ``100 * (present + late) / (present + late +
  absent)``. Excused sessions count in neither numerator nor denominator: an
  excused absence neither helps nor hurts. Sessions without a record do not
  count either (a missing register is not an absence). ``NULL`` when nothing
  counts (no sessions yet, or all excused), and such students sort last.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F

from students.models import GradeLevel, Student, StudentStatus

STUDENT_METRICS_VIEW = "student_metrics_mv"
# The dashboard's summaries (``dashboards/migrations/0002_dashboard_summaries.py``), read
# with plain SQL by ``dashboards.selectors.school``: no model, nothing for the ORM to manage.
ATTENDANCE_WEEKLY_VIEW = "attendance_weekly_mv"
FEEDBACK_TREND_VIEW = "feedback_trend_mv"


def stored_view(view: str) -> str:
    """The materialized view holding ``view``'s rows; ``view`` itself is the security-barrier view over it.

    Readers use ``view`` (row-level security filters it); only the refresh,
    through the owner's ``gc_refresh_materialized_view``, and the catalog
    (``pg_matviews``) name the stored one (dashboards migration 0004).
    """
    return f"{view}_rows"


class StudentMetricsQuerySet(models.QuerySet["StudentMetrics"]):
    def in_grade(self, grade: int) -> StudentMetricsQuerySet:
        return self.filter(grade_level=grade)

    def attendance_below(self, percent: Decimal | int | float) -> StudentMetricsQuerySet:
        """Students whose attendance rate is known and under ``percent``."""
        return self.filter(attendance_rate__lt=percent)

    def lowest_attendance_first(self) -> StudentMetricsQuerySet:
        # ASC NULLS LAST is PostgreSQL's default order for ASC, so this matches
        # the (grade_level, attendance_rate, id) index and stays an index scan.
        return self.order_by(F("attendance_rate").asc(nulls_last=True), "student_id")


class StudentMetrics(models.Model):
    """One row of ``student_metrics_mv``: read-only, as fresh as the last refresh."""

    # A real column of the view, not a constraint: db_constraint is moot on a
    # view, and DO_NOTHING keeps deletes of students from ever touching it.
    student = models.OneToOneField(
        Student,
        primary_key=True,
        db_column="id",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="metrics",
    )
    student_number = models.CharField(max_length=20)
    name = models.CharField(max_length=301)
    grade_level = models.PositiveSmallIntegerField(choices=GradeLevel.choices)
    status = models.CharField(max_length=16, choices=StudentStatus.choices)
    active_enrollments = models.IntegerField()
    sessions_scheduled = models.IntegerField()
    present_count = models.IntegerField()
    late_count = models.IntegerField()
    absent_count = models.IntegerField()
    excused_count = models.IntegerField()
    attendance_rate = models.DecimalField(
        "attendance %",
        max_digits=5,
        decimal_places=2,
        null=True,
        help_text="(present + late) / (present + late + absent)",
    )
    last_attended_on = models.DateField(null=True)
    feedback_count = models.IntegerField()
    last_feedback_at = models.DateTimeField(null=True)
    avg_participation = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    avg_comprehension = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    avg_homework = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    avg_behaviour = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    avg_progress = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    avg_score = models.DecimalField(
        "average score", max_digits=3, decimal_places=2, null=True, help_text="mean of every dimension's scores"
    )

    objects = StudentMetricsQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = STUDENT_METRICS_VIEW
        verbose_name = "student metrics"
        verbose_name_plural = "student metrics"
        ordering = [F("attendance_rate").asc(nulls_last=True), "student_id"]

    def __str__(self) -> str:
        return f"Metrics of {self.name} ({self.student_number})"


class ViewRefresh(models.Model):
    """One refresh of a materialized view, successful or not."""

    class Source(models.TextChoices):
        COMMAND = "command", "refresh_views command"
        API = "api", "Python API"
        MIGRATION = "migration", "created by a migration"

    view_name = models.CharField(max_length=63)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_ms = models.FloatField()
    row_count = models.BigIntegerField(null=True, blank=True)
    concurrent = models.BooleanField(
        help_text="REFRESH ... CONCURRENTLY (readers never blocked) rather than a plain refresh"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    succeeded = models.BooleanField(default=True)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "view_refreshes"
        ordering = ["-finished_at"]
        # The staff dashboard's permissions (``dashboards.views``): who may refresh the
        # views from a page, and who may read the operations page.
        permissions = [
            # Names stay within 50 characters: auth's own migrations go back to that length.
            ("refresh_views", "Can refresh the dashboard's views"),
            ("view_operations", "Can view the operations dashboard"),
        ]
        indexes = [models.Index(fields=["view_name", "-finished_at"], name="idx_view_refreshes_view_time")]

    def __str__(self) -> str:
        how = "concurrently" if self.concurrent else "plainly"
        return f"{self.view_name} refreshed {how} at {self.finished_at:%Y-%m-%d %H:%M:%S}"

"""One student's page: weekly attendance over the term, feedback scores per dimension, enrolments, guardians."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from courses.selectors import student_active_enrollments
from dashboards.charts import Series, line_chart
from dashboards.selectors.metrics import student_metrics
from dashboards.selectors.school import terms_all
from dashboards.selectors.student_page import student_attendance_weekly, student_feedback_recent
from dashboards.views.access import READ_PERMISSION, bad_filter, render_page, requires
from dashboards.views.filters import FilterError, parse_term
from dashboards.views.weeks import term_weeks, weekly_rate_chart
from feedback.scores import SCORE_DIMENSIONS, SCORE_MAX, SCORE_MIN
from students.models import Student
from students.selectors import student_get, student_guardians

__all__ = ["student_view"]


@requires(READ_PERMISSION)
def student_view(request: HttpRequest, site: AdminSite, student_id: int) -> HttpResponse:
    student = student_get(student_id)
    if student is None:
        raise Http404(f"No student with id {student_id}")
    title = f"{student.full_name} ({student.student_number})"
    today = timezone.localdate()
    terms = terms_all()
    try:
        term = parse_term(request.GET.get("term"), terms, today)
    except FilterError as error:
        return bad_filter(request, site, error, title)

    attendance_chart = None
    if term is not None:
        attendance_chart = weekly_rate_chart(
            chart_id="attendance",
            title=f"Attendance week by week, {term.name}",
            weeks=term_weeks(term.starts_on, term.ends_on, today),
            rows=student_attendance_weekly(student_id=student_id, starts_on=term.starts_on, ends_on=term.ends_on),
            label="attendance rate",
        )
    feedback = student_feedback_recent(student_id=student_id)
    feedback_chart = line_chart(
        chart_id="feedback",
        title="Feedback scores over time, per dimension",
        x_labels=[f"{timezone.localtime(entry.parsed_at):%d %b}" for entry in feedback],
        series=[
            Series(dimension, f"gc-series-{i}", [entry.scores.get(dimension) for entry in feedback])
            for i, dimension in enumerate(SCORE_DIMENSIONS)
        ],
        y_min=SCORE_MIN,
        y_max=SCORE_MAX,
    )
    audit_url = None
    if request.user.has_perm("auditing.view_auditlog"):
        audit_url = (
            reverse("admin:auditing_auditlog_changelist")
            + "?"
            + urlencode({"table_name": Student._meta.db_table, "row_pk": str(student_id)})
        )
    context = {
        "title": title,
        "student": student,
        "metrics": student_metrics(student_id),
        "terms": terms,
        "term": term,
        "attendance_chart": attendance_chart,
        "feedback_chart": feedback_chart,
        "enrollments": student_active_enrollments(student_id),
        "guardians": student_guardians(student_id),
        "audit_url": audit_url,
        "change_url": reverse("admin:students_student_change", args=[student_id]),
    }
    return render_page(request, site, "admin/dashboards/student.html", context)

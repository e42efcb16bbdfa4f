"""The school overview: attendance by grade, the weekly rate over the term, the at-risk lists."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from dashboards.charts import Series, stacked_share_bars
from dashboards.refresh import MATERIALIZED_VIEWS, RefreshAlreadyRunning, materialized_view_refresh, view_last_refresh
from dashboards.selectors.school import (
    RATE_BANDS,
    at_risk_falling_scores,
    at_risk_lowest_attendance,
    attendance_distribution_by_grade,
    attendance_weekly,
    terms_all,
)
from dashboards.views.access import READ_PERMISSION, REFRESH_PERMISSION, bad_filter, render_page, requires
from dashboards.views.filters import FilterError, parse_grade, parse_term
from dashboards.views.weeks import term_weeks, weekly_rate_chart
from growthcompass.health import human_duration
from students.models import GradeLevel

__all__ = ["AT_RISK_BELOW", "refresh_view", "school_view"]

# "Lowest attendance" lists active students under this rate.
AT_RISK_BELOW = 80
BAND_CLASSES = ("gc-band-0", "gc-band-1", "gc-band-2", "gc-band-3", "gc-band-4")


def _course_redirect(code: str) -> HttpResponse:
    course_id = Course.objects.filter(code=code).values_list("id", flat=True).first()
    if course_id is None:
        raise FilterError(f"there is no course with the code {code!r}")
    return HttpResponseRedirect(reverse("admin:dashboards_course", args=[course_id]))


def _data_age() -> dict[str, Any]:
    last = view_last_refresh()
    if last is None:
        return {"age": None, "refreshed_at": None}
    seconds = max(0.0, (timezone.now() - last.finished_at).total_seconds())
    return {"age": human_duration(seconds), "refreshed_at": last.finished_at}


@requires(READ_PERMISSION)
def school_view(request: HttpRequest, site: AdminSite) -> HttpResponse:
    title = "School overview"
    today = timezone.localdate()
    terms = terms_all()
    try:
        grade = parse_grade(request.GET.get("grade"))
        term = parse_term(request.GET.get("term"), terms, today)
        if request.GET.get("course"):
            return _course_redirect(request.GET["course"].strip())
    except FilterError as error:
        return bad_filter(request, site, error, title)

    distribution = attendance_distribution_by_grade(grade=grade)
    grades_chart = stacked_share_bars(
        chart_id="grades",
        title="Attendance rate of active students, by grade",
        categories=[GradeLevel(row.grade_level).label for row in distribution],
        bands=[
            Series(label, css, [row.bands[i] for row in distribution])
            for i, ((label, _, _), css) in enumerate(zip(RATE_BANDS, BAND_CLASSES, strict=True))
        ],
    )
    weekly_chart = None
    if term is not None:
        weekly_chart = weekly_rate_chart(
            chart_id="weekly",
            title=f"Weekly attendance rate, {term.name}",
            weeks=term_weeks(term.starts_on, term.ends_on, today),
            rows=attendance_weekly(term_id=term.id, grade=grade),
            label="attendance rate",
        )
    lowest, lowest_count = at_risk_lowest_attendance(grade=grade, below=AT_RISK_BELOW)
    falling, falling_count = at_risk_falling_scores(grade=grade)
    context = {
        "title": title,
        "grades": [(value, label) for value, label in GradeLevel.choices],
        "terms": terms,
        "grade": grade,
        "term": term,
        "grades_chart": grades_chart,
        "unknown_rates": sum(row.unknown for row in distribution),
        "weekly_chart": weekly_chart,
        "lowest": lowest,
        "lowest_count": lowest_count,
        "at_risk_below": AT_RISK_BELOW,
        "falling": falling,
        "falling_count": falling_count,
        **_data_age(),
    }
    return render_page(request, site, "admin/dashboards/school.html", context)


@requires(REFRESH_PERMISSION)
def refresh_view(request: HttpRequest, site: AdminSite) -> HttpResponse:
    """POST: refresh every dashboard view, one at a time; a refresh already running is reported, not waited for."""
    back = reverse("admin:dashboards_school")
    if request.method != "POST":
        return HttpResponseRedirect(back)
    done = []
    for view in MATERIALIZED_VIEWS:
        try:
            result = materialized_view_refresh(view=view, concurrently=True, wait=False)
        except RefreshAlreadyRunning:
            messages.warning(request, f"A refresh of {view} is already running; try again when it has finished.")
            continue
        done.append(f"{view} ({result.duration_ms:.0f} ms, {result.row_count} rows)")
    if done:
        messages.success(request, "Refreshed " + ", ".join(done) + ".")
    return HttpResponseRedirect(back)

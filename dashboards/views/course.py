"""One course's page: the roster with each student's attendance, and the session-by-student grid."""

from __future__ import annotations

from typing import NamedTuple

from django.contrib.admin import AdminSite
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from attendance.models import AttendanceStatus
from courses.selectors import course_get, course_roster
from dashboards.charts import heat_map
from dashboards.selectors.course_page import course_attendance_marks, course_sessions_held
from dashboards.selectors.metrics import students_metrics
from dashboards.views.access import READ_PERMISSION, render_page, requires
from students.selectors import StudentSummary

__all__ = ["RosterRow", "course_view"]

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
COUNTED = (*ATTENDED, AttendanceStatus.ABSENT)


class RosterRow(NamedTuple):
    student: StudentSummary
    present: int
    late: int
    absent: int
    excused: int
    course_rate: float | None  # in this course, counted as student_metrics_mv counts
    overall_rate: float | None  # over all the student's courses, as of the view's last refresh


@requires(READ_PERMISSION)
def course_view(request: HttpRequest, site: AdminSite, course_id: int) -> HttpResponse:
    course = course_get(course_id)
    if course is None:
        raise Http404(f"No course with id {course_id}")
    roster = course_roster(course_id)
    sessions = course_sessions_held(course_id=course_id, until=timezone.localdate())
    marks = course_attendance_marks(sessions=sessions)
    metrics = students_metrics(s.id for s in roster)
    rows = []
    cells = []
    for student in roster:
        statuses = [marks.get((session.id, student.id)) for session in sessions]
        cells.append(statuses)
        counts = {status: statuses.count(status) for status in AttendanceStatus.values}
        counted = sum(counts[s] for s in COUNTED)
        summary = metrics.get(student.id)
        rows.append(
            RosterRow(
                student=student,
                present=counts[AttendanceStatus.PRESENT],
                late=counts[AttendanceStatus.LATE],
                absent=counts[AttendanceStatus.ABSENT],
                excused=counts[AttendanceStatus.EXCUSED],
                course_rate=None if counted == 0 else 100.0 * sum(counts[s] for s in ATTENDED) / counted,
                overall_rate=None
                if summary is None or summary.attendance_rate is None
                else float(summary.attendance_rate),
            )
        )
    grid = heat_map(
        chart_id="grid",
        title=f"Attendance at each held session of {course.code}",
        row_labels=[student.full_name for student in roster],
        column_labels=[f"{s.session_date:%d %b}" for s in sessions],
        cells=cells,
        states=dict(AttendanceStatus.choices),
    )
    context = {"title": f"{course.code} {course.name}", "course": course, "rows": rows, "grid": grid}
    return render_page(request, site, "admin/dashboards/course.html", context)

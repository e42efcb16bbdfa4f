"""Read-only admin over the ``student_metrics_mv`` view: sortable, filterable, with its age in the title."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboards.models import StudentMetrics
from dashboards.refresh import view_last_refresh
from dashboards.views import dashboard_urls
from growthcompass.health import human_duration


class AttendanceBelowFilter(admin.SimpleListFilter):
    """``?attendance_below=N``: students whose known attendance rate is under N percent (any N, 0-100)."""

    title = "attendance"
    parameter_name = "attendance_below"
    UNKNOWN = "unknown"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(n), f"below {n}%") for n in (50, 75, 80, 90, 95)] + [(self.UNKNOWN, "nothing counted yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if value == self.UNKNOWN:
            return queryset.filter(attendance_rate__isnull=True)
        try:
            percent = Decimal(value)
        except InvalidOperation:
            raise IncorrectLookupParameters(f"attendance_below must be a number, not {value!r}") from None
        if not Decimal(0) <= percent <= Decimal(100):
            raise IncorrectLookupParameters("attendance_below must be between 0 and 100")
        return queryset.filter(attendance_rate__lt=percent)


@admin.register(StudentMetrics)
class StudentMetricsAdmin(admin.ModelAdmin[StudentMetrics]):
    """Dashboard numbers as of the last refresh; nothing here can be edited."""

    list_display = (
        "student_number",
        "name",
        "grade_level",
        "status",
        "attendance_rate",
        "sessions_scheduled",
        "present_count",
        "late_count",
        "absent_count",
        "excused_count",
        "active_enrollments",
        "last_attended_on",
        "feedback_count",
        "avg_score",
        "last_feedback_at",
        "student_record",
    )
    list_filter = ("grade_level", "status", AttendanceBelowFilter)
    search_fields = ("student_number", "name")
    list_per_page = 50
    change_list_template = "admin/dashboards/studentmetrics/change_list.html"

    @admin.display(description="record")
    def student_record(self, obj: StudentMetrics) -> SafeString:
        url = reverse("admin:students_student_change", args=[obj.pk])
        page = reverse("admin:dashboards_student", args=[obj.pk])
        return format_html('<a href="{}">student</a> · <a href="{}">dashboard</a>', url, page)

    def get_urls(self) -> list[URLPattern]:
        # The staff dashboard's pages (dashboards.views), before the changelist's own
        # "<object_id>/" patterns so that "dashboard/" is never read as an object id.
        return [*dashboard_urls(self.admin_site), *super().get_urls()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StudentMetrics | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StudentMetrics | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        last = view_last_refresh()
        if last is None:
            freshness = "never refreshed: run manage.py refresh_views"
        else:
            age = max(0.0, (timezone.now() - last.finished_at).total_seconds())
            freshness = f"as of {human_duration(age)} ago"
        context = {
            "title": f"Student metrics ({freshness})",
            "dashboard_url": reverse("admin:dashboards_school"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

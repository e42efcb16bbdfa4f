from __future__ import annotations

from django.contrib import admin

from attendance.models import Attendance, ClassSession
from growthcompass.admin_paging import EstimatedCountPaginator


@admin.register(ClassSession)
class ClassSessionAdmin(admin.ModelAdmin[ClassSession]):
    list_display = ("course", "session_date", "starts_at", "ends_at", "topic", "is_cancelled")
    list_select_related = ("course",)
    list_filter = ("is_cancelled", "course__term", "course__grade_level")
    search_fields = ("course__code", "topic")
    autocomplete_fields = ("course",)
    date_hierarchy = "session_date"


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin[Attendance]):
    list_display = ("student", "session", "session_date", "status", "minutes_late", "recorded_by", "created_at")
    list_select_related = ("student__user", "session", "recorded_by")
    # A date filter, not date_hierarchy: the hierarchy's SELECT DISTINCT over the
    # dates of millions of rows took ~450 ms per page (benchmarks/bench_admin.py).
    # The session-date filter is the one that reads only the partitions of its range
    # (attendances is partitioned by month on session_date).
    list_filter = (
        "status",
        ("session_date", admin.DateFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    # Copied from the session on save (attendance/fields.py): shown, never typed in.
    readonly_fields = ("session_date",)
    search_fields = ("student__student_number", "session__course__code")
    autocomplete_fields = ("student", "session", "recorded_by")
    # The table holds millions of rows: an exact COUNT(*) per page is the cost to avoid.
    paginator = EstimatedCountPaginator
    show_full_result_count = False

from __future__ import annotations

from django.contrib import admin

from attendance.models import Attendance, ClassSession


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
    list_display = ("student", "session", "status", "minutes_late", "recorded_by", "created_at")
    list_select_related = ("student__user", "session", "recorded_by")
    list_filter = ("status",)
    search_fields = ("student__student_number", "session__course__code")
    autocomplete_fields = ("student", "session", "recorded_by")
    date_hierarchy = "created_at"
    # The table holds millions of rows: an exact COUNT(*) per page is the cost to avoid.
    show_full_result_count = False

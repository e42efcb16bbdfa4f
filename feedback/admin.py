from __future__ import annotations

from django.contrib import admin

from feedback.models import ParsedStudentFeedback


@admin.register(ParsedStudentFeedback)
class ParsedStudentFeedbackAdmin(admin.ModelAdmin[ParsedStudentFeedback]):
    list_display = ("student", "author", "parsed_at", "sentiment", "excerpt")
    list_select_related = ("student__user", "author")
    search_fields = ("student__student_number", "raw_text")
    autocomplete_fields = ("student", "session", "author")
    date_hierarchy = "parsed_at"

    @admin.display(description="Text")
    def excerpt(self, obj: ParsedStudentFeedback) -> str:
        return obj.raw_text if len(obj.raw_text) <= 80 else obj.raw_text[:77] + "..."

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin

from students.models import Guardian, Student


class GuardianInline(admin.TabularInline[Guardian, Student]):
    model = Guardian
    extra = 0


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin[Student]):
    list_display = ("student_number", "full_name", "grade_level", "status", "enrolled_on", "left_on")
    list_select_related = ("user",)
    list_filter = ("status", "grade_level")
    search_fields = ("student_number", "user__first_name", "user__last_name", "user__email")
    date_hierarchy = "enrolled_on"
    autocomplete_fields = ("user",)
    # courses.admin adds the enrolments inline (students must not import courses).
    inlines: ClassVar[tuple[type[InlineModelAdmin[Any, Any]], ...]] = (GuardianInline,)
    ordering = ("student_number",)

    @admin.display(description="Name", ordering="user__last_name")
    def full_name(self, obj: Student) -> str:
        return obj.full_name


@admin.register(Guardian)
class GuardianAdmin(admin.ModelAdmin[Guardian]):
    list_display = ("full_name", "relationship", "student", "phone", "email", "is_primary", "is_emergency_contact")
    list_select_related = ("student__user",)
    list_filter = ("relationship", "is_primary", "is_emergency_contact")
    search_fields = ("full_name", "email", "phone", "student__student_number")
    autocomplete_fields = ("student",)

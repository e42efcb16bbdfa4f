from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from courses.models import Enrollment
from students.models import Guardian, Student


class GuardianInline(admin.TabularInline[Guardian, Student]):
    model = Guardian
    extra = 0


class EnrollmentInline(admin.TabularInline[Enrollment, Student]):
    model = Enrollment
    extra = 0
    fields = ("course", "status", "enrolled_at", "ended_at", "reason")
    autocomplete_fields = ("course",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        return super().get_queryset(request).select_related("course")


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin[Student]):
    list_display = ("student_number", "full_name", "grade_level", "status", "enrolled_on", "left_on")
    list_select_related = ("user",)
    list_filter = ("status", "grade_level")
    search_fields = ("student_number", "user__first_name", "user__last_name", "user__email")
    date_hierarchy = "enrolled_on"
    autocomplete_fields = ("user",)
    inlines = (GuardianInline, EnrollmentInline)
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

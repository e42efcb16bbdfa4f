from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from courses.models import Course, Enrollment, EnrollmentStatus, Term
from students.admin import StudentAdmin
from students.models import Student


@admin.register(Term)
class TermAdmin(admin.ModelAdmin[Term]):
    list_display = ("name", "starts_on", "ends_on")
    search_fields = ("name",)
    date_hierarchy = "starts_on"


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin[Course]):
    list_display = (
        "code",
        "name",
        "subject",
        "grade_level",
        "term",
        "teacher",
        "capacity",
        "active_enrollments",
        "is_active",
    )
    list_select_related = ("term", "teacher")
    list_filter = ("is_active", "subject", "grade_level", "term")
    search_fields = ("code", "name")
    autocomplete_fields = ("term", "teacher")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        # One aggregate in the changelist query instead of a COUNT per row.
        return (
            super()
            .get_queryset(request)
            .annotate(_active_enrollments=Count("enrollments", filter=Q(enrollments__status=EnrollmentStatus.ACTIVE)))
        )

    @admin.display(description="Active enrolments", ordering="_active_enrollments")
    def active_enrollments(self, obj: Course) -> int:
        return int(getattr(obj, "_active_enrollments", 0))


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin[Enrollment]):
    list_display = ("student", "course", "status", "enrolled_at", "ended_at")
    list_select_related = ("student__user", "course")
    list_filter = ("status", "course__term", "course__grade_level")
    search_fields = ("student__student_number", "student__user__last_name", "course__code")
    autocomplete_fields = ("student", "course")
    date_hierarchy = "enrolled_at"


class StudentEnrollmentInline(admin.TabularInline[Enrollment, Student]):
    model = Enrollment
    extra = 0
    fields = ("course", "status", "enrolled_at", "ended_at", "reason")
    autocomplete_fields = ("course",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        return super().get_queryset(request).select_related("course")


# The student page lists the student's enrolments: the students app cannot name
# enrolments, so this app extends its admin (students' admin.py is imported first).
admin.site.unregister(Student)


@admin.register(Student)
class StudentWithEnrollmentsAdmin(StudentAdmin):
    inlines = (*StudentAdmin.inlines, StudentEnrollmentInline)

"""A small school with two teachers, built in a system scope, for the row-level-security tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, User
from django.utils import timezone

from attendance.models import Attendance, ClassSession
from courses.models import Course, EnrollmentStatus
from feedback.models import ParsedStudentFeedback
from growthcompass.rls import rls_system_context
from students.models import Guardian, Student
from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    CourseFactory,
    EnrollmentFactory,
    FeedbackFactory,
    GuardianFactory,
    StudentFactory,
    TermFactory,
    UserFactory,
)


@dataclass
class Classroom:
    """What one teacher may see: their course, its session, its enrolled students and what hangs off them."""

    teacher: User
    course: Course
    session: ClassSession
    students: list[Student]
    guardians: list[Guardian]
    attendances: list[Attendance]
    feedback: list[ParsedStudentFeedback]
    # Enrolled, but not visible: a dropped enrolment, and one in a term that has not begun.
    hidden_students: list[Student] = field(default_factory=list)


@dataclass
class School:
    a: Classroom
    b: Classroom
    admin: User
    administrators_member: User
    office: User


def _classroom(name: str) -> Classroom:
    teacher = UserFactory.create(username=f"teacher-{name}", is_staff=True)
    term = TermFactory.create()
    course = CourseFactory.create(teacher=teacher, term=term)
    session = ClassSessionFactory.create(course=course)
    students = StudentFactory.create_batch(2)
    guardians = [GuardianFactory.create(student=student) for student in students]
    for student in students:
        EnrollmentFactory.create(student=student, course=course, status=EnrollmentStatus.ACTIVE)
    attendances = [AttendanceFactory.create(student=student, session=session) for student in students]
    feedback = [FeedbackFactory.create(student=students[0], session=session, author=teacher)]
    dropped = StudentFactory.create()
    EnrollmentFactory.create(student=dropped, course=course, status=EnrollmentStatus.DROPPED)
    future_term = TermFactory.create(starts_on=timezone.localdate() + dt.timedelta(days=30))
    future = StudentFactory.create()
    EnrollmentFactory.create(
        student=future, course=CourseFactory.create(teacher=teacher, term=future_term), status=EnrollmentStatus.ACTIVE
    )
    return Classroom(
        teacher=teacher,
        course=course,
        session=session,
        students=students,
        guardians=guardians,
        attendances=attendances,
        feedback=feedback,
        hidden_students=[dropped, future],
    )


def build_school() -> School:
    with rls_system_context(reason="test school"):
        a, b = _classroom("a"), _classroom("b")
        admin = UserFactory.create(username="head", is_superuser=True, is_staff=True)
        member = UserFactory.create(username="deputy", is_staff=True)
        member.groups.add(Group.objects.get_or_create(name="administrators")[0])
        office = UserFactory.create(username="registrar", is_staff=True)
        office.groups.add(Group.objects.get_or_create(name="office")[0])
    return School(a=a, b=b, admin=admin, administrators_member=member, office=office)

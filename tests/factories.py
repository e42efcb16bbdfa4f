"""factory_boy factories for every model, in one place."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from attendance.models import Attendance, AttendanceStatus, ClassSession
from courses.models import Course, Enrollment, EnrollmentStatus, Subject, Term
from feedback.models import ParsedStudentFeedback
from students.models import Guardian, GuardianRelationship, Student, StudentStatus


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user-{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-for-tests")


class StaffUserFactory(UserFactory):
    is_staff = True
    is_superuser = True
    username = factory.Sequence(lambda n: f"staff-{n}")


class StudentFactory(factory.django.DjangoModelFactory[Student]):
    class Meta:
        model = Student

    user = factory.SubFactory(UserFactory)
    student_number = factory.Sequence(lambda n: f"S{n:06d}")
    grade_level = 7
    status = StudentStatus.ACTIVE
    enrolled_on = factory.LazyFunction(lambda: dt.date(2024, 9, 1))


class GuardianFactory(factory.django.DjangoModelFactory[Guardian]):
    class Meta:
        model = Guardian

    student = factory.SubFactory(StudentFactory)
    full_name = factory.Faker("name")
    relationship = GuardianRelationship.MOTHER
    phone = "+44 20 7946 0000"
    email = factory.Sequence(lambda n: f"guardian-{n}@example.org")
    is_primary = False


class TermFactory(factory.django.DjangoModelFactory[Term]):
    class Meta:
        model = Term

    name = factory.Sequence(lambda n: f"Term {n}")
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    ends_on = factory.LazyAttribute(lambda t: t.starts_on + dt.timedelta(days=100))


class CourseFactory(factory.django.DjangoModelFactory[Course]):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"C-{n:05d}")
    name = factory.Sequence(lambda n: f"Course {n}")
    subject = Subject.MATHEMATICS
    grade_level = 7
    term = factory.SubFactory(TermFactory)
    teacher = factory.SubFactory(UserFactory)
    capacity = 30


class EnrollmentFactory(factory.django.DjangoModelFactory[Enrollment]):
    class Meta:
        model = Enrollment

    student = factory.SubFactory(StudentFactory)
    course = factory.SubFactory(CourseFactory)
    status = EnrollmentStatus.ACTIVE


class ClassSessionFactory(factory.django.DjangoModelFactory[ClassSession]):
    class Meta:
        model = ClassSession

    course = factory.SubFactory(CourseFactory)
    session_date = factory.Sequence(lambda n: timezone.localdate() - dt.timedelta(days=n + 1))
    starts_at = dt.time(9, 0)
    ends_at = dt.time(10, 0)
    topic = "Fractions"


class AttendanceFactory(factory.django.DjangoModelFactory[Attendance]):
    class Meta:
        model = Attendance

    student = factory.SubFactory(StudentFactory)
    session = factory.SubFactory(ClassSessionFactory)
    status = AttendanceStatus.PRESENT
    minutes_late = 0


class FeedbackFactory(factory.django.DjangoModelFactory[ParsedStudentFeedback]):
    class Meta:
        model = ParsedStudentFeedback

    student = factory.SubFactory(StudentFactory)
    author = factory.SubFactory(UserFactory)
    raw_text = "Worked steadily and asked good questions."
    scores: Any = factory.LazyFunction(lambda: {"participation": 4, "comprehension": 3})
    tags: Any = factory.LazyFunction(lambda: ["engaged"])

"""What to generate: a pure, deterministic description of the demo school.

``iter_plans`` turns ``(students, seed, today)`` into the rows of
``demo.rows``, one *cohort* at a time: the school is split into cohorts of at
most ``PlanOptions.cohort_size`` students (2,000 by default), each with its own
sections, teachers and register, so that only one cohort's rows are ever in
memory however large the school (the loader copies a cohort, then the next one
is planned). ``build_plan`` plans one cohort; its rows refer to each other by
*list position* within that cohort (a course names its term as an index into
``plan.terms``), and its numbering (student and teacher numbers, section
letters) continues where the earlier cohorts stopped (``CohortStart``).

Each cohort draws from its own random streams (``demo.streams``), so a cohort's
rows depend on the seed, the cohort's place and the cohorts before it, never on
how many cohorts a caller holds at once. Cohort 0 draws from the streams a
whole school used before cohorts existed: a school of at most one cohort is the
same as it always was. Nothing here touches the database or the clock, so the
same arguments give the same plan on any machine -- the property the
reproducibility test relies on.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

from courses.models import EnrollmentStatus
from demo import catalogue, names
from demo.feedback_notes import plan_feedback
from demo.rows import (
    AttendanceProfile,
    CohortStart,
    DemoPlan,
    PlannedCourse,
    PlannedEnrollment,
    PlannedGuardian,
    PlannedSession,
    PlannedStudent,
    PlannedTerm,
    PlannedUser,
    PlanOptions,
)
from demo.streams import weighted
from students.models import GradeLevel, GuardianRelationship, StudentStatus

MAX_SECTION_SIZE = 30
TERM_WEEKS = 15
WEEKS_INTO_CURRENT_TERM = 10
BREAK_WEEKS = 1

# How many subjects (of the eight) a student takes in a term, and how often.
# Averages 5.2: with two lessons a week and ten weeks of the current term gone,
# that is ~100 attendance rows per student, the size the brief asks for.
SUBJECT_LOAD_WEIGHTS: dict[int, int] = {4: 15, 5: 50, 6: 35}

CURRENT_STATUS_WEIGHTS: dict[str, int] = {
    EnrollmentStatus.ACTIVE: 90,
    EnrollmentStatus.DROPPED: 4,
    EnrollmentStatus.WAITLISTED: 3,
    EnrollmentStatus.PENDING: 3,
}
PREVIOUS_STATUS_WEIGHTS: dict[str, int] = {EnrollmentStatus.COMPLETED: 97, EnrollmentStatus.DROPPED: 3}

# Sessions cancelled one at a time (teacher ill, room flooded) on top of the
# whole-school closure days below.
SESSION_CANCEL_RATE = 0.02
SCHOOL_CLOSURE_DAYS_PER_TERM = 1

GUARDIAN_COUNT_WEIGHTS: dict[int, int] = {1: 35, 2: 65}
PRIMARY_RELATIONSHIP_WEIGHTS: dict[str, int] = {
    GuardianRelationship.MOTHER: 45,
    GuardianRelationship.FATHER: 35,
    GuardianRelationship.GUARDIAN: 8,
    GuardianRelationship.GRANDPARENT: 8,
    GuardianRelationship.OTHER: 4,
}


def section_label(index: int) -> str:
    """A, B, ..., Z, AA, AB, ...: bijective base 26, so large grades never run out of letters."""
    label = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        label = chr(ord("A") + remainder) + label
    return label


def at(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz)


def cohort_sizes(students: int, cohort_size: int) -> Iterator[int]:
    """Split ``students`` into the fewest cohorts of at most ``cohort_size``, as even as possible.

    Even, so that the last cohort is never a handful of students in sections of their own.
    """
    if students < 1 or cohort_size < 1:
        raise ValueError(f"students and cohort_size must be at least 1; got {students} and {cohort_size}")
    count = math.ceil(students / cohort_size)
    base, extra = divmod(students, count)
    for index in range(count):
        yield base + (1 if index < extra else 0)


def iter_plans(
    *, students: int, seed: int, today: dt.date, tz: dt.tzinfo, options: PlanOptions | None = None
) -> Iterator[DemoPlan]:
    """Plan a school of ``students`` students around ``today``, cohort by cohort; see the module docstring.

    A cohort is planned only when the previous one has been taken: a caller that
    drops each plan once it is loaded holds one cohort at a time.
    """
    options = options or PlanOptions()
    start = CohortStart()
    for size in cohort_sizes(students, options.cohort_size):
        plan = build_plan(students=size, seed=seed, today=today, tz=tz, options=options, start=start)
        start = plan.next_start()
        yield plan
        del plan  # not alive while the next cohort is planned


def school_terms(today: dt.date) -> list[PlannedTerm]:
    """The school's two terms around ``today`` (every cohort shares them)."""
    plan = DemoPlan(seed=0, today=today, tz=dt.UTC, options=PlanOptions())
    _plan_terms(plan)
    return plan.terms


def build_plan(
    *,
    students: int,
    seed: int,
    today: dt.date,
    tz: dt.tzinfo,
    options: PlanOptions | None = None,
    start: CohortStart | None = None,
) -> DemoPlan:
    """Plan one cohort of ``students`` students around ``today`` (the first cohort unless ``start``)."""
    if students < 1:
        raise ValueError(f"students must be at least 1; got {students}")
    plan = DemoPlan(seed=seed, today=today, tz=tz, options=options or PlanOptions(), start=start or CohortStart())
    _plan_terms(plan)
    _plan_students(plan, students)
    _plan_courses_and_enrollments(plan)
    _plan_sessions(plan)
    _plan_attendance_profiles(plan)
    plan_feedback(plan)
    return plan


def _plan_terms(plan: DemoPlan) -> None:
    """The current term started on the Monday ten weeks before this week; the previous one ended a week before."""
    monday = plan.today - dt.timedelta(days=plan.today.weekday())
    current_start = monday - dt.timedelta(weeks=WEEKS_INTO_CURRENT_TERM)
    previous_start = current_start - dt.timedelta(weeks=TERM_WEEKS + BREAK_WEEKS)
    for start in (previous_start, current_start):
        end = start + dt.timedelta(weeks=TERM_WEEKS, days=-3)  # the Friday of the last week
        season = "Spring" if start.month <= 4 else "Summer" if start.month <= 7 else "Autumn"
        plan.terms.append(
            PlannedTerm(
                # Starts are 16 weeks apart, so year+month is unique between the two terms.
                code=f"{start:%Y%m}",
                name=f"{season} {start.year} ({start.day} {start:%b} - {end.day} {end:%b})",
                starts_on=start,
                ends_on=end,
            )
        )


def _plan_students(plan: DemoPlan, count: int) -> None:
    rng = plan.stream("people")
    school_start = plan.terms[0].starts_on
    grades = list(GradeLevel.values)
    for index in range(count):
        number = plan.start.students + index + 1
        first = rng.choice(names.FIRST_NAMES)
        last = rng.choice(names.LAST_NAMES)
        grade = rng.choice(grades)
        # Older students have been at the school longer; everyone was here before the first term.
        enrolled_on = school_start - dt.timedelta(days=rng.randint(7, 60 + 365 * grade))
        username = f"student-{number:05d}"
        plan.users.append(
            PlannedUser(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{first}.{last}.{number}@students.example.org".lower(),
                date_joined=at(enrolled_on, dt.time(8, rng.randrange(60)), plan.tz),
            )
        )
        plan.students.append(
            PlannedStudent(
                user=index,
                student_number=f"GC{number:06d}",
                grade_level=grade,
                enrolled_on=enrolled_on,
                status=str(StudentStatus.ACTIVE),
            )
        )
        _plan_guardians(plan, rng, index, last)


def _plan_guardians(plan: DemoPlan, rng: random.Random, student: int, family_name: str) -> None:
    relationship = weighted(rng, PRIMARY_RELATIONSHIP_WEIGHTS)
    for position in range(weighted(rng, GUARDIAN_COUNT_WEIGHTS)):
        if position == 1:
            relationship = (
                GuardianRelationship.FATHER
                if relationship == GuardianRelationship.MOTHER
                else GuardianRelationship.MOTHER
                if relationship == GuardianRelationship.FATHER
                else weighted(rng, PRIMARY_RELATIONSHIP_WEIGHTS)
            )
        first = rng.choice(names.ADULT_FIRST_NAMES)
        last = family_name if rng.random() < 0.8 else rng.choice(names.LAST_NAMES)
        plan.guardians.append(
            PlannedGuardian(
                student=student,
                full_name=f"{first} {last}",
                relationship=str(relationship),
                # Ofcom's range reserved for drama: looks real, rings nobody.
                phone=f"+44 7700 900{rng.randrange(1000):03d}",
                email=f"{first}.{last}{rng.randrange(100)}@example.net".lower(),
                is_primary=position == 0,
                is_emergency_contact=position == 0 or rng.random() < 0.5,
            )
        )


def _plan_courses_and_enrollments(plan: DemoPlan) -> None:
    """Per term, every (grade, subject) gets enough sections of <= 30 for the students who chose it."""
    rng = plan.stream("courses")
    first_teacher = len(plan.users)
    teachers_needed = 0
    by_grade: dict[int, list[int]] = {grade: [] for grade in GradeLevel.values}
    for index, student in enumerate(plan.students):
        by_grade[student.grade_level].append(index)

    for term_index, term in enumerate(plan.terms):
        is_current = term_index == plan.current_term
        # Which students take which subject this term.
        takers: dict[tuple[int, str], list[int]] = {
            (grade, subject): [] for grade in GradeLevel.values for subject in catalogue.SUBJECTS
        }
        for index, student in enumerate(plan.students):
            load = weighted(rng, SUBJECT_LOAD_WEIGHTS)
            for subject in sorted(rng.sample(catalogue.SUBJECTS, load), key=catalogue.SUBJECTS.index):
                takers[(student.grade_level, subject)].append(index)

        # Sections: (grade, subject, section number, members), then teachers by subject so
        # a teacher's load is one subject across neighbouring grades.
        # Section numbers (and so letters) go on from the earlier cohorts' sections.
        sections: list[tuple[int, str, int, list[int]]] = []
        for (grade, subject), members in takers.items():
            rng.shuffle(members)
            count = max(1, math.ceil(len(members) / MAX_SECTION_SIZE))
            earlier = plan.start.sections.get((term_index, grade, subject), 0)
            plan.sections[(term_index, grade, subject)] = count
            for number in range(count):
                sections.append((grade, subject, earlier + number, members[number::count]))
        sections.sort(key=lambda s: (catalogue.SUBJECTS.index(s[1]), s[0], s[2]))

        for position, (grade, subject, number, members) in enumerate(sections):
            teacher, slot = divmod(position, catalogue.COURSES_PER_TEACHER)
            teachers_needed = max(teachers_needed, teacher + 1)
            label = section_label(number)
            course_index = len(plan.courses)
            plan.courses.append(
                PlannedCourse(
                    code=f"{catalogue.SUBJECT_CODES[subject]}-{grade:02d}-{label}-{term.code}",
                    name=f"{catalogue.SUBJECT_LABELS[subject]}, {GradeLevel(grade).label}, section {label}",
                    subject=subject,
                    grade_level=grade,
                    term=term_index,
                    teacher=first_teacher + teacher,
                    capacity=MAX_SECTION_SIZE,
                    is_active=is_current,
                    period=slot,
                    weekdays=catalogue.WEEKDAY_PATTERNS[(teacher + slot) % len(catalogue.WEEKDAY_PATTERNS)],
                )
            )
            for member in sorted(members):
                plan.enrollments.append(_plan_enrollment(plan, rng, term, is_current, member, course_index))

    _plan_teachers(plan, teachers_needed)


def _plan_enrollment(
    plan: DemoPlan, rng: random.Random, term: PlannedTerm, is_current: bool, student: int, course: int
) -> PlannedEnrollment:
    status = weighted(rng, CURRENT_STATUS_WEIGHTS if is_current else PREVIOUS_STATUS_WEIGHTS)
    signed_up = at(term.starts_on - dt.timedelta(days=rng.randint(3, 28)), _office_hours(rng), plan.tz)
    ended_at: dt.datetime | None = None
    reason = ""
    if status == EnrollmentStatus.PENDING:
        # A late request still waiting for approval.
        signed_up = at(plan.today - dt.timedelta(days=rng.randint(1, 14)), _office_hours(rng), plan.tz)
    elif status == EnrollmentStatus.COMPLETED:
        ended_at = at(term.ends_on, dt.time(16, 0), plan.tz)
    elif status == EnrollmentStatus.DROPPED:
        last_possible = min(term.ends_on - dt.timedelta(days=7), plan.today - dt.timedelta(days=1))
        first_possible = term.starts_on + dt.timedelta(days=7)
        span = max(0, (last_possible - first_possible).days)
        ended_at = at(first_possible + dt.timedelta(days=rng.randint(0, span)), _office_hours(rng), plan.tz)
        reason = rng.choice(catalogue.DROP_REASONS)
    return PlannedEnrollment(
        student=student, course=course, status=str(status), enrolled_at=signed_up, ended_at=ended_at, reason=reason
    )


def _office_hours(rng: random.Random) -> dt.time:
    return dt.time(rng.randint(8, 16), rng.randrange(60))


def _plan_teachers(plan: DemoPlan, count: int) -> None:
    rng = plan.stream("teachers")
    for index in range(count):
        number = plan.start.teachers + index + 1
        first = rng.choice(names.ADULT_FIRST_NAMES)
        last = rng.choice(names.LAST_NAMES)
        hired = plan.terms[0].starts_on - dt.timedelta(days=rng.randint(30, 3650))
        plan.users.append(
            PlannedUser(
                username=f"teacher-{number:03d}",
                first_name=first,
                last_name=last,
                email=f"teacher-{number:03d}@school.example.org",
                date_joined=at(hired, dt.time(9, 0), plan.tz),
            )
        )


def _plan_sessions(plan: DemoPlan) -> None:
    """Two lessons a week for the whole of each term, future included, in date order.

    Date order makes the loader hand out ids (and write attendance) the way a
    real school accumulates them, which also keeps the id and date indexes
    append-only during the load.
    """
    rng = plan.stream("sessions")
    closures: set[dt.date] = set()
    for term in plan.terms:
        school_days = [
            term.starts_on + dt.timedelta(days=offset)
            for offset in range((term.ends_on - term.starts_on).days + 1)
            if (term.starts_on + dt.timedelta(days=offset)).weekday() < 5
        ]
        closures.update(rng.sample(school_days, SCHOOL_CLOSURE_DAYS_PER_TERM))

    planned: list[tuple[dt.date, int, int, PlannedSession]] = []
    for course_index, course in enumerate(plan.courses):
        term = plan.terms[course.term]
        starts_at, ends_at = catalogue.PERIODS[course.period]
        topics = catalogue.TOPICS[course.subject]
        for week in range(TERM_WEEKS):
            for weekday in course.weekdays:
                day = term.starts_on + dt.timedelta(weeks=week, days=weekday)
                if day > term.ends_on:
                    continue
                cancelled = day in closures or rng.random() < SESSION_CANCEL_RATE
                session = PlannedSession(
                    course=course_index,
                    session_date=day,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    topic=topics[week % len(topics)],
                    is_cancelled=cancelled,
                )
                planned.append((day, course.period, course_index, session))
    planned.sort(key=lambda item: item[:3])
    plan.sessions.extend(item[3] for item in planned)


def _plan_attendance_profiles(plan: DemoPlan) -> None:
    """Per-student habits: most attend well, a long tail attends badly.

    A log-normal multiplier with mean 1 scales the 15% not-present share, so
    the school-wide mix stays near 85/7/5/3 (present/late/absent/excused)
    while a few students miss half their lessons.
    """
    rng = plan.stream("habits")
    sigma = 0.8
    for _ in plan.students:
        factor = rng.lognormvariate(-sigma * sigma / 2, sigma)
        late, absent, excused = (min(0.6, 0.15 * factor) * share for share in (7 / 15, 5 / 15, 3 / 15))
        present = 1.0 - late - absent - excused
        plan.attendance_profiles.append(
            AttendanceProfile(present=present, late=present + late, absent=present + late + absent)
        )

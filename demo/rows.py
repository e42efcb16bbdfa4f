"""The planned rows: plain data that refers to other rows by list position.

The loader swaps positions for database ids as it copies, so the plan itself
never needs the database. A plan is one cohort of the school (``demo.plan``).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from courses.models import EnrollmentStatus
from demo.streams import stream

# Students per cohort by default: the most that are planned (and held in memory) at once, about
# 9 kB each. Also what ``make run`` seeds, so its school is one cohort, the same as before cohorts.
COHORT_SIZE = 2_000


@dataclass(frozen=True, slots=True)
class PlannedUser:
    username: str
    first_name: str
    last_name: str
    email: str
    date_joined: dt.datetime


@dataclass(frozen=True, slots=True)
class PlannedStudent:
    """``user`` is the position in ``DemoPlan.users``; the student row reuses that user's id."""

    user: int
    student_number: str
    grade_level: int
    enrolled_on: dt.date
    status: str


@dataclass(frozen=True, slots=True)
class PlannedGuardian:
    student: int
    full_name: str
    relationship: str
    phone: str
    email: str
    is_primary: bool
    is_emergency_contact: bool


@dataclass(frozen=True, slots=True)
class PlannedTerm:
    code: str
    name: str
    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True, slots=True)
class PlannedCourse:
    code: str
    name: str
    subject: str
    grade_level: int
    term: int
    teacher: int
    capacity: int
    # Only the current term's courses are open; last term's are history.
    is_active: bool
    period: int
    weekdays: tuple[int, int]


@dataclass(frozen=True, slots=True)
class PlannedEnrollment:
    student: int
    course: int
    status: str
    enrolled_at: dt.datetime
    ended_at: dt.datetime | None
    reason: str

    @property
    def attends_until(self) -> dt.date | None:
        """Last day (exclusive) with a register entry; ``None`` for never, ``date.max`` for the whole term."""
        if self.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED):
            return dt.date.max
        if self.status == EnrollmentStatus.DROPPED and self.ended_at is not None:
            return self.ended_at.date()
        return None


@dataclass(frozen=True, slots=True)
class PlannedSession:
    course: int
    session_date: dt.date
    starts_at: dt.time
    ends_at: dt.time
    topic: str
    is_cancelled: bool


@dataclass(frozen=True, slots=True)
class PlannedFeedback:
    student: int
    session: int | None
    author: int | None
    raw_text: str
    parsed_at: dt.datetime
    scores: dict[str, int]
    sentiment: Decimal
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AttendanceProfile:
    """Cumulative cut-offs for one uniform draw: below ``present`` is present, then late, absent, excused."""

    present: float
    late: float
    absent: float


@dataclass(frozen=True)
class PlanOptions:
    """Knobs of the generated school; the defaults are what ``seed_demo`` uses.

    Attendance is recorded for the current term only by default: the story is
    that the school started taking registers in Growth Compass this term, and
    it keeps the attendance table at the ~100 rows per student the brief sizes
    it for (the previous term would add ~150 more per student).
    """

    previous_term_attendance: bool = False
    # Students per cohort (``demo.plan``): each cohort has its own sections and teachers. Part of what
    # the data *is* (another size gives another school), unlike how many cohorts a load holds at once.
    cohort_size: int = COHORT_SIZE

    def __post_init__(self) -> None:
        if self.cohort_size < 1:
            raise ValueError(f"cohort_size must be at least 1; got {self.cohort_size}")


SectionKey = tuple[int, int, str]  # (term position, grade, subject)


@dataclass(frozen=True)
class CohortStart:
    """Where a cohort's numbering begins: what the cohorts before it used.

    ``students`` and ``teachers`` planned so far (numbers go on from there), and
    per (term, grade, subject) the sections so far (letters go on from there),
    so every cohort's usernames and course codes are new.
    """

    cohort: int = 0
    students: int = 0
    teachers: int = 0
    sections: dict[SectionKey, int] = field(default_factory=dict)


@dataclass
class DemoPlan:
    """Every row of one cohort to load, in load order; cross-references are list positions in this plan."""

    seed: int
    today: dt.date
    tz: dt.tzinfo
    options: PlanOptions
    start: CohortStart = field(default_factory=CohortStart)
    users: list[PlannedUser] = field(default_factory=list)
    students: list[PlannedStudent] = field(default_factory=list)
    guardians: list[PlannedGuardian] = field(default_factory=list)
    terms: list[PlannedTerm] = field(default_factory=list)
    courses: list[PlannedCourse] = field(default_factory=list)
    enrollments: list[PlannedEnrollment] = field(default_factory=list)
    sessions: list[PlannedSession] = field(default_factory=list)
    feedback: list[PlannedFeedback] = field(default_factory=list)
    attendance_profiles: list[AttendanceProfile] = field(default_factory=list)
    # Sections this cohort opened per (term, grade, subject).
    sections: dict[SectionKey, int] = field(default_factory=dict)

    @property
    def current_term(self) -> int:
        return len(self.terms) - 1

    def teacher_count(self) -> int:
        return len(self.users) - len(self.students)

    def stream(self, concern: str) -> random.Random:
        """This cohort's random stream for ``concern``."""
        return stream(self.seed, concern, self.start.cohort)

    def next_start(self) -> CohortStart:
        """Where the cohort after this one begins."""
        sections = dict(self.start.sections)
        for key, count in self.sections.items():
            sections[key] = sections.get(key, 0) + count
        return CohortStart(
            cohort=self.start.cohort + 1,
            students=self.start.students + len(self.students),
            teachers=self.start.teachers + self.teacher_count(),
            sections=sections,
        )

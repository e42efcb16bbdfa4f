"""``seed_demo``: consistent, reproducible demo data, and refusals that write nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from attendance.models import Attendance, AttendanceStatus, ClassSession
from auditing.models import AuditLog
from courses.models import Course, Enrollment, EnrollmentStatus, Term
from dashboards.models import StudentMetrics
from dashboards.refresh import MATERIALIZED_VIEWS
from demo.attendance_rows import count_attendance, iter_attendance
from demo.loader import PlanLoader
from demo.plan import build_plan, cohort_sizes, iter_plans
from demo.rows import PlanOptions
from demo.services import DemoSeedRefused, SeedResult, seed_demo
from feedback.models import ParsedStudentFeedback
from feedback.scores import SCORE_DIMENSIONS, validate_scores
from students.models import Guardian, Student
from tests.factories import UserFactory

User = get_user_model()
STUDENTS = 60
SEED = 7


# Two cohorts of 30: every check of the loaded data also checks that cohorts fit together.
TWO_COHORTS = PlanOptions(cohort_size=STUDENTS // 2)


def seed(**overrides: Any) -> SeedResult:
    options: dict[str, Any] = {"students": STUDENTS, "seed": SEED, "reset": True, "options": TWO_COHORTS}
    options.update(overrides)
    return seed_demo(**options)


def _digest_rows(digest: Any, rows: Iterable[tuple[Any, ...]]) -> None:
    for row in rows:
        digest.update(repr(row).encode())


def demo_digest() -> str:
    """A hash of every demo row by natural keys (ids differ between runs: they come from sequences)."""
    digest = hashlib.sha256()
    querysets = [
        User.objects.filter(Q(username__startswith="student-") | Q(username__startswith="teacher-")).values_list(
            "username", "first_name", "last_name", "email", "date_joined", "password", "is_staff"
        ),
        Student.objects.values_list("user__username", "student_number", "grade_level", "status", "enrolled_on"),
        Guardian.objects.values_list(
            "student__user__username",
            "full_name",
            "relationship",
            "phone",
            "email",
            "is_primary",
            "is_emergency_contact",
        ),
        Term.objects.values_list("name", "starts_on", "ends_on"),
        Course.objects.values_list(
            "code", "name", "subject", "grade_level", "term__name", "teacher__username", "capacity"
        ),
        Enrollment.objects.values_list(
            "student__user__username", "course__code", "status", "enrolled_at", "ended_at", "reason"
        ),
        ClassSession.objects.values_list(
            "course__code", "session_date", "starts_at", "ends_at", "topic", "is_cancelled"
        ),
        Attendance.objects.values_list(
            "student__user__username",
            "session__course__code",
            "session__session_date",
            "status",
            "minutes_late",
            "recorded_by__username",
            "created_at",
            "note",
        ),
        ParsedStudentFeedback.objects.values_list(
            "student__user__username",
            "session__course__code",
            "session__session_date",
            "author__username",
            "raw_text",
            "parsed_at",
            "sentiment",
            "tags",
        ),
    ]
    for queryset in querysets:
        rows = sorted(queryset, key=repr)
        digest.update(f"{queryset.model._meta.db_table}:{len(rows)}".encode())
        _digest_rows(digest, rows)
    scores = sorted(
        (username, text, json.dumps(value, sort_keys=True))
        for username, text, value in ParsedStudentFeedback.objects.values_list(
            "student__user__username", "raw_text", "scores"
        )
    )
    _digest_rows(digest, scores)
    return digest.hexdigest()


# --- The plan (pure Python, no database) ---------------------------------------------


def test_plan_is_identical_for_the_same_arguments() -> None:
    arguments: dict[str, Any] = {"students": 40, "seed": 3, "today": dt.date(2026, 11, 25), "tz": dt.UTC}
    first, second = build_plan(**arguments), build_plan(**arguments)
    assert first == second
    assert list(iter_attendance(first)) == list(iter_attendance(second))


def test_plan_attendance_mix_is_mostly_present_with_some_bad_attenders() -> None:
    plan = build_plan(students=1500, seed=11, today=dt.date(2026, 11, 25), tz=dt.UTC)
    rows = list(iter_attendance(plan))
    assert len(rows) == count_attendance(plan)
    shares = {status: count / len(rows) for status, count in Counter(row.status for row in rows).items()}
    assert shares["present"] == pytest.approx(0.85, abs=0.03)
    assert shares["late"] == pytest.approx(0.07, abs=0.02)
    assert shares["absent"] == pytest.approx(0.05, abs=0.02)
    assert shares["excused"] == pytest.approx(0.03, abs=0.015)
    worst_present_rate = min(profile.present for profile in plan.attendance_profiles)
    assert worst_present_rate < 0.6
    assert 80 <= len(rows) / 1500 <= 120


def test_plan_records_previous_term_attendance_only_when_asked() -> None:
    arguments: dict[str, Any] = {"students": 30, "seed": 5, "today": dt.date(2026, 11, 25), "tz": dt.UTC}
    current_only = build_plan(**arguments)
    both = build_plan(**arguments, options=PlanOptions(previous_term_attendance=True))
    previous_term_sessions = {
        index for index, s in enumerate(both.sessions) if both.courses[s.course].term != both.current_term
    }
    assert not any(row.session in previous_term_sessions for row in iter_attendance(current_only))
    assert any(row.session in previous_term_sessions for row in iter_attendance(both))


def test_a_school_is_split_into_the_fewest_even_cohorts() -> None:
    assert list(cohort_sizes(2000, 2000)) == [2000]
    assert list(cohort_sizes(2001, 2000)) == [1001, 1000]
    assert list(cohort_sizes(10_001, 2000)) == [1667, 1667, 1667, 1667, 1667, 1666]
    with pytest.raises(ValueError, match="at least 1"):
        list(cohort_sizes(10, 0))


def test_a_school_of_one_cohort_is_the_plan_of_the_whole_school() -> None:
    arguments: dict[str, Any] = {"students": 40, "seed": 3, "today": dt.date(2026, 11, 25), "tz": dt.UTC}
    (only,) = iter_plans(**arguments)
    assert only == build_plan(**arguments)


def test_cohorts_number_on_from_each_other_and_draw_their_own_rows() -> None:
    arguments: dict[str, Any] = {"seed": 3, "today": dt.date(2026, 11, 25), "tz": dt.UTC}
    plans = list(iter_plans(students=90, options=PlanOptions(cohort_size=30), **arguments))
    assert [len(plan.students) for plan in plans] == [30, 30, 30]
    usernames = [user.username for plan in plans for user in plan.users]
    assert len(usernames) == len(set(usernames))
    assert {f"student-{n:05d}" for n in range(1, 91)} <= set(usernames)
    teachers = sorted(name for name in usernames if name.startswith("teacher-"))
    assert teachers == [f"teacher-{n:03d}" for n in range(1, len(teachers) + 1)]
    codes = [course.code for plan in plans for course in plan.courses]
    assert len(codes) == len(set(codes))
    # Another cohort is another draw, not a copy of the first with new numbers.
    first, second = ([(u.first_name, u.last_name) for u in plan.users[:30]] for plan in plans[:2])
    assert first != second
    # A cohort's rows do not depend on which cohorts are planned after it.
    assert list(iter_plans(students=60, options=PlanOptions(cohort_size=30), **arguments)) == plans[:2]


# --- Loaded data ------------------------------------------------------------------------


@pytest.mark.django_db
def test_counts_in_result_match_the_tables() -> None:
    result = seed()
    assert result.counts == {
        "auth_user": User.objects.filter(
            Q(username__startswith="student-") | Q(username__startswith="teacher-")
        ).count(),
        "students": Student.objects.count(),
        "guardians": Guardian.objects.count(),
        "terms": Term.objects.count(),
        "courses": Course.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "class_sessions": ClassSession.objects.count(),
        "attendances": Attendance.objects.count(),
        "parsed_student_feedback": ParsedStudentFeedback.objects.count(),
    }
    assert result.counts["students"] == STUDENTS
    assert result.total_rows == sum(result.counts.values())


@pytest.mark.django_db
def test_students_share_ids_with_named_non_staff_users() -> None:
    seed()
    students = Student.objects.select_related("user")
    assert students.count() == STUDENTS
    for student in students:
        assert student.user.username.startswith("student-")
        assert student.user.first_name and student.user.last_name and "@" in student.user.email
        assert not student.user.is_staff and not student.user.has_usable_password()
    teachers = User.objects.filter(username__startswith="teacher-")
    assert teachers.exists()
    assert not teachers.filter(is_staff=True).exists()
    assert set(Course.objects.values_list("teacher__username", flat=True)) == set(
        teachers.values_list("username", flat=True)
    )


@pytest.mark.django_db
def test_every_student_has_one_or_two_guardians_exactly_one_primary() -> None:
    seed()
    counts = Student.objects.annotate(
        total=Count("guardians"), primary=Count("guardians", filter=Q(guardians__is_primary=True))
    ).values_list("total", "primary")
    assert len(counts) == STUDENTS
    assert all(1 <= total <= 2 and primary == 1 for total, primary in counts)


@pytest.mark.django_db
def test_terms_are_the_current_one_containing_today_and_the_previous_one() -> None:
    seed()
    today = timezone.localdate()
    current, previous = Term.objects.order_by("-starts_on")
    assert current.starts_on <= today <= current.ends_on
    assert 9 * 7 <= (today - current.starts_on).days <= 11 * 7
    assert 14 * 7 <= (current.ends_on - current.starts_on).days <= 16 * 7
    assert previous.ends_on < current.starts_on


@pytest.mark.django_db
def test_courses_cover_every_grade_and_subject_in_sections_of_at_most_thirty() -> None:
    seed()
    for term in Term.objects.all():
        pairs = set(Course.objects.filter(term=term).values_list("grade_level", "subject"))
        assert len(pairs) == 13 * 8
    current = Term.objects.order_by("-starts_on")[0]
    assert set(Course.objects.active().values_list("term", flat=True)) == {current.pk}
    sizes = Course.objects.annotate(size=Count("enrollments")).values_list("code", "size", "capacity")
    assert all(size <= capacity <= 30 for _, size, capacity in sizes)
    assert all(code.split("-")[-1].isdigit() and code[3] == "-" for code, _, _ in sizes)


@pytest.mark.django_db
def test_students_take_about_five_courses_of_their_grade_this_term() -> None:
    seed()
    current = Term.objects.order_by("-starts_on").first()
    per_student = Student.objects.annotate(
        current=Count("enrollments", filter=Q(enrollments__course__term=current)),
        previous=Count("enrollments", filter=~Q(enrollments__course__term=current)),
    ).values_list("current", "previous")
    assert all(4 <= now <= 6 and 4 <= before <= 6 for now, before in per_student)
    assert not Enrollment.objects.exclude(course__grade_level=F("student__grade_level")).exists()
    statuses = Counter(Enrollment.objects.filter(course__term=current).values_list("status", flat=True))
    assert statuses[EnrollmentStatus.ACTIVE] > 0.8 * sum(statuses.values())
    assert set(Enrollment.objects.exclude(course__term=current).values_list("status", flat=True)) <= {
        EnrollmentStatus.COMPLETED,
        EnrollmentStatus.DROPPED,
    }


@pytest.mark.django_db
def test_dropped_and_completed_enrolments_are_closed_the_others_open() -> None:
    seed(students=300)
    dropped = Enrollment.objects.filter(status=EnrollmentStatus.DROPPED)
    assert dropped.exists()
    assert not dropped.filter(Q(ended_at__isnull=True) | Q(reason="")).exists()
    assert not Enrollment.objects.filter(status=EnrollmentStatus.COMPLETED, ended_at__isnull=True).exists()
    still_open = [EnrollmentStatus.ACTIVE, EnrollmentStatus.PENDING, EnrollmentStatus.WAITLISTED]
    assert not Enrollment.objects.filter(status__in=still_open, ended_at__isnull=False).exists()
    assert not Enrollment.objects.filter(Q(enrolled_at__gt=timezone.now()) | Q(ended_at__gt=timezone.now())).exists()


@pytest.mark.django_db
def test_each_course_meets_twice_a_week_all_term_with_a_few_cancellations() -> None:
    seed()
    per_course = Course.objects.annotate(n=Count("sessions")).values_list("n", flat=True)
    assert set(per_course) == {30}
    sessions = ClassSession.objects.all()
    cancelled = sessions.filter(is_cancelled=True).count()
    assert 0 < cancelled < 0.1 * sessions.count()
    assert sessions.filter(session_date__gt=timezone.localdate()).exists()
    assert not sessions.filter(ends_at__lte=F("starts_at")).exists()


@pytest.mark.django_db
def test_attendance_only_for_enrolled_students_of_held_past_sessions() -> None:
    seed()
    covering_enrolment = Enrollment.objects.filter(
        student_id=OuterRef("student_id"), course_id=OuterRef("session__course_id")
    ).filter(
        Q(status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED])
        | Q(status=EnrollmentStatus.DROPPED, ended_at__date__gt=OuterRef("session__session_date"))
    )
    attendance = Attendance.objects.all()
    assert attendance.count() > 50 * STUDENTS
    assert not attendance.filter(~Exists(covering_enrolment)).exists()
    assert not attendance.filter(session__is_cancelled=True).exists()
    assert not attendance.filter(session__session_date__gt=timezone.localdate()).exists()
    assert not attendance.filter(created_at__gt=timezone.now()).exists()
    assert not attendance.exclude(recorded_by=F("session__course__teacher")).exists()


@pytest.mark.django_db
def test_minutes_late_is_positive_exactly_for_late_rows() -> None:
    seed(students=200)
    late = Attendance.objects.filter(status=AttendanceStatus.LATE)
    assert late.exists()
    assert not late.filter(Q(minutes_late__lt=1) | Q(minutes_late__gt=30)).exists()
    assert not Attendance.objects.exclude(status=AttendanceStatus.LATE).exclude(minutes_late=0).exists()
    assert set(Attendance.objects.values_list("status", flat=True)) == set(AttendanceStatus.values)


@pytest.mark.django_db
def test_feedback_scores_sentiment_and_tags_are_well_formed() -> None:
    seed()
    feedback = ParsedStudentFeedback.objects.select_related("session__course")
    assert feedback.count() >= STUDENTS
    for note in feedback:
        validate_scores(note.scores)
        assert note.scores and set(note.scores) <= set(SCORE_DIMENSIONS)
        assert all(type(score) is int and 1 <= score <= 5 for score in note.scores.values())
        assert note.sentiment is not None and -1 <= note.sentiment <= 1
        assert note.sentiment.as_tuple().exponent == -3
        assert note.tags and note.raw_text.endswith((".", "!"))
        assert note.session is not None and note.author_id == note.session.course.teacher_id
        assert note.parsed_at < timezone.now()


@pytest.mark.django_db
def test_same_seed_gives_identical_data() -> None:
    seed()
    first = demo_digest()
    seed()
    assert demo_digest() == first


@pytest.mark.django_db
def test_same_seed_gives_identical_data_whatever_the_chunk() -> None:
    """Three cohorts copied one per chunk, two per chunk, or all in one: the same tables."""
    cohorts = PlanOptions(cohort_size=STUDENTS // 3)
    digests = []
    for cohorts_per_chunk in (1, 2, 3):
        result = seed(options=cohorts, cohorts_per_chunk=cohorts_per_chunk)
        assert result.counts["students"] == STUDENTS
        digests.append(demo_digest())
    assert digests[0] == digests[1] == digests[2]
    seed(options=PlanOptions())  # one cohort of 60 is another school than three of 20
    assert demo_digest() != digests[0]


@pytest.mark.django_db
def test_different_seed_gives_different_data() -> None:
    seed()
    first = demo_digest()
    seed(seed=SEED + 1)
    assert demo_digest() != first


@pytest.mark.django_db
def test_reset_keeps_users_that_are_not_demo_users() -> None:
    keeper = UserFactory.create(username="headteacher")
    seed()
    seed()
    assert User.objects.filter(pk=keeper.pk).exists()


# --- The command and its refusals ---------------------------------------------------------


@pytest.mark.django_db
def test_command_prints_one_summary_line_then_the_refreshed_views_and_no_progress_when_not_a_tty() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", students=STUDENTS, seed=SEED, reset=True, stdout=out, stderr=err)
    summary, *refreshed = out.getvalue().strip().splitlines()
    assert f"students={STUDENTS}" in summary and "attendances=" in summary and "rows/s" in summary
    assert [line.split(":")[0] for line in refreshed] == [f"Refreshed {view}" for view in MATERIALIZED_VIEWS]
    assert err.getvalue() == ""


@pytest.mark.django_db
def test_the_metrics_view_shows_the_new_school_right_after_a_reset() -> None:
    """--reset used to leave the dashboards showing the deleted students until the next refresh."""
    call_command("seed_demo", "--students", "8", "--reset", stdout=io.StringIO())
    first = set(StudentMetrics.objects.values_list("student_id", flat=True))
    assert first and first == set(Student.objects.values_list("pk", flat=True))

    call_command("seed_demo", "--students", "5", "--reset", stdout=io.StringIO())

    shown = set(StudentMetrics.objects.values_list("student_id", flat=True))
    assert shown == set(Student.objects.values_list("pk", flat=True))
    assert len(shown) == 5 and not shown & first


@pytest.mark.django_db
def test_no_refresh_leaves_the_views_alone() -> None:
    call_command("seed_demo", "--students", "5", "--reset", "--no-refresh", stdout=io.StringIO())
    assert Student.objects.count() == 5
    assert not StudentMetrics.objects.filter(student_id__in=Student.objects.values("pk")).exists()


@pytest.mark.django_db
def test_command_json_output_has_counts_and_seconds() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--students", "5", "--reset", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["counts"]["students"] == 5
    assert payload["seconds"] >= 0 and payload["total_rows"] == sum(payload["counts"].values())


@pytest.mark.django_db(transaction=True)  # as from a shell: the command opens the transaction
def test_command_as_user_is_recorded_on_every_audit_row_it_wrote() -> None:
    # An administrator: --as-user acts in that user's row-level-security scope.
    author = UserFactory.create(username="registrar", is_superuser=True)
    started = timezone.now()
    call_command("seed_demo", "--students", "5", "--reset", "--as-user", "registrar", stdout=io.StringIO())
    inserted = AuditLog.objects.filter(
        operation="INSERT", table_name__in=["students", "attendances", "enrollments"], changed_at__gte=started
    )
    assert inserted.filter(table_name="students").count() == 5
    assert set(inserted.values_list("changed_by_id", flat=True)) == {author.pk}
    assert {(entry or {}).get("command") for entry in inserted.values_list("context", flat=True)} == {"seed_demo"}


@pytest.mark.django_db
def test_command_as_unknown_user_writes_nothing() -> None:
    with pytest.raises(CommandError, match="nobody-here"):
        call_command("seed_demo", "--students", "5", "--as-user", "nobody-here", stdout=io.StringIO())
    assert not Student.objects.exists()


@pytest.mark.django_db
def test_refuses_without_reset_when_data_exists_and_leaves_it_untouched() -> None:
    seed()
    before = demo_digest()
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", students=5, seed=SEED + 1, stdout=io.StringIO())
    assert demo_digest() == before
    assert Student.objects.count() == STUDENTS


@pytest.mark.django_db
def test_if_empty_loads_an_empty_database() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--students", "5", "--if-empty", stdout=out)
    assert Student.objects.count() == 5


@pytest.mark.django_db
def test_if_empty_leaves_existing_data_alone_and_succeeds() -> None:
    seed()
    before = demo_digest()
    out = io.StringIO()
    call_command("seed_demo", "--students", "5", "--seed", str(SEED + 1), "--if-empty", stdout=out)
    assert "already present" in out.getvalue()
    assert demo_digest() == before


@pytest.mark.django_db
def test_refuses_without_reset_when_only_demo_users_exist() -> None:
    UserFactory.create(username="student-00001")
    with pytest.raises(DemoSeedRefused, match="auth_user"):
        seed_demo(students=5, seed=SEED)
    assert not Student.objects.exists()


@pytest.mark.django_db
def test_refuses_in_production_even_with_reset(settings: Any) -> None:
    settings.DJANGO_ENV = "production"
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", students=5, reset=True, stdout=io.StringIO())
    assert not Student.objects.exists()
    assert not User.objects.filter(username__startswith="student-").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("arguments", [{"students": 0}, {"students": -3}])
def test_refuses_fewer_than_one_student(arguments: dict[str, int]) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", **arguments, stdout=io.StringIO())
    assert not Student.objects.exists()


@pytest.mark.django_db
def test_refuses_fewer_than_one_student_on_the_command_line() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--students", "0", stdout=io.StringIO())


def test_service_rejects_fewer_than_one_student() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        seed_demo(students=0, seed=SEED)


@pytest.mark.django_db
def test_a_failure_part_way_leaves_nothing_written(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: PlanLoader) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(PlanLoader, "analyze", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        seed()
    assert not Student.objects.exists()
    assert not Attendance.objects.exists()
    assert not User.objects.filter(username__startswith="student-").exists()


@pytest.mark.django_db(transaction=True)  # as from a shell: the months' partitions are made as the owner, first
def test_the_register_goes_to_its_months_partitions_not_the_default_one() -> None:
    from django.db import connection

    result = seed()

    with connection.cursor() as cursor:
        cursor.execute("SELECT partition_row_count('attendances_default'::regclass)")
        in_default = cursor.fetchone()
        cursor.execute("SELECT count(DISTINCT tableoid) FROM attendances")
        holding = cursor.fetchone()
    assert result.counts["attendances"] > 0
    assert in_default == (0,)
    assert holding is not None and holding[0] >= 2  # the term spans months
    assert not Attendance.objects.exclude(session_date=F("session__session_date")).exists()

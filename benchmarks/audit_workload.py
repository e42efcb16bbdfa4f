"""The audit benchmark's workload: its fixture, the timed writes, and which triggers each variant runs.

Shared by ``bench_audit`` and its django-pghistory child process
(``benchmarks.pghistory_tracker``), so both time exactly the same statements
on the same rows.

Bulk operations (one statement of N rows, ``bulk_create`` in batches) are
timed inside one transaction each, from the statement to its COMMIT; the
triggers a variant does not run are disabled inside that transaction and put
back before it commits. Single-row operations run in autocommit, one
transaction per statement as the admin and the services write: there the
triggers are switched by committed DDL around the whole sample, and every
variant runs the same DDL and the same untimed warm-up so none pays re-planning
the others skip.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

PREFIX = "bench-audit"
BATCH = 1_000
WARMUP = 20
BLOCK = 20
TABLE = "attendances"


@dataclass(frozen=True)
class Fixture:
    student_ids: list[int]
    session_ids: list[int]

    @property
    def rows(self) -> int:
        return len(self.student_ids) * len(self.session_ids)

    def as_dict(self) -> dict[str, list[int]]:
        return {"student_ids": self.student_ids, "session_ids": self.session_ids}


def shape(rows: int) -> tuple[int, int]:
    """(students, sessions) whose product is ``rows``."""
    students = 200 if rows >= 100_000 else 100
    return students, rows // students


def create_fixture(rows: int) -> Fixture:
    """Students, one course and its sessions under ``bench-audit`` names (any earlier ones removed)."""
    from django.contrib.auth.models import User
    from django.db import transaction

    from attendance.models import ClassSession
    from courses.models import Course, Subject, Term
    from students.models import Student

    students, sessions = shape(rows)
    drop_fixture()
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"{PREFIX}-{i}", password="!bench") for i in range(students)]  # noqa: S106 - unusable
        )
        Student.objects.bulk_create(
            [
                Student(user=user, student_number=f"BA{i:06d}", grade_level=7, enrolled_on=dt.date(2024, 9, 1))
                for i, user in enumerate(users)
            ]
        )
        term = Term.objects.create(name=PREFIX, starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2030, 1, 1))
        course = Course.objects.create(
            code=PREFIX.upper(), name=PREFIX, subject=Subject.MATHEMATICS, grade_level=7, term=term
        )
        created = ClassSession.objects.bulk_create(
            [
                ClassSession(
                    course=course,
                    session_date=dt.date(2020, 1, 1) + dt.timedelta(days=i),
                    starts_at=dt.time(9),
                    ends_at=dt.time(10),
                )
                for i in range(sessions)
            ]
        )
    return Fixture(student_ids=[u.pk for u in users], session_ids=[s.pk for s in created])


def drop_fixture() -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM attendances WHERE session_id IN"
            " (SELECT s.id FROM class_sessions s JOIN courses c ON c.id = s.course_id WHERE c.code = %s)",
            [PREFIX.upper()],
        )
        cursor.execute(
            "DELETE FROM class_sessions WHERE course_id IN (SELECT id FROM courses WHERE code = %s)", [PREFIX.upper()]
        )
        cursor.execute("DELETE FROM courses WHERE code = %s", [PREFIX.upper()])
        cursor.execute("DELETE FROM terms WHERE name = %s", [PREFIX])
        cursor.execute(
            "DELETE FROM students WHERE id IN (SELECT id FROM auth_user WHERE username LIKE %s)", [f"{PREFIX}-%"]
        )
        User.objects.filter(username__startswith=f"{PREFIX}-").delete()


# --- Which triggers run ------------------------------------------------------------------


def audit_trigger_ids() -> list[str]:
    """The pgids of the audit triggers ``attendance/audit.py`` puts on ``attendances``."""
    from attendance.models import Attendance

    triggers = Attendance._meta.triggers  # type: ignore[attr-defined]
    return [str(t.get_pgid(Attendance)) for t in triggers if t.name.startswith("audit_")]


def tracker_trigger_ids() -> list[str]:
    """The pgids of django-pghistory's triggers on ``attendances``, when its child process installed them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'attendances'::regclass AND tgname LIKE 'pgtrigger_pgh%%'"
        )
        return [str(name) for (name,) in cursor.fetchall()]


def set_triggers(cursor: Any, *, audit: bool, tracker: bool) -> None:
    """Enable or disable the audit and the pghistory triggers (every one, whatever its state: same DDL always)."""
    from psycopg import sql

    for pgids, enabled in ((audit_trigger_ids(), audit), (tracker_trigger_ids(), tracker)):
        action = sql.SQL("ENABLE" if enabled else "DISABLE")
        for pgid in pgids:
            cursor.execute(
                sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(sql.Identifier(TABLE), action, sql.Identifier(pgid))
            )


def timed_in_transaction(work: Callable[[Any], None], *, audit: bool, tracker: bool) -> float:
    """Run ``work(cursor)`` in one transaction with the chosen triggers; seconds from the work to the COMMIT."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        set_triggers(cursor, audit=audit, tracker=tracker)
        started = time.perf_counter()
        work(cursor)
        # The deferred foreign-key checks run here rather than at COMMIT (ALTER
        # TABLE refuses pending trigger events); timed the same in every variant.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Back to the resting state inside the same transaction: a crash changes nothing.
        set_triggers(cursor, audit=True, tracker=False)
    return time.perf_counter() - started


@contextmanager
def triggers_committed(*, audit: bool, tracker: bool) -> Iterator[None]:
    """The chosen triggers for autocommit work; the resting state (audit on, pghistory off) after."""
    from django.db import connection

    with connection.cursor() as cursor:
        set_triggers(cursor, audit=audit, tracker=tracker)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            set_triggers(cursor, audit=True, tracker=False)


# --- The writes ----------------------------------------------------------------------------


def bulk_operations(fixture: Fixture) -> dict[str, Callable[[Any], None]]:
    """INSERT, UPDATE and DELETE of every fixture row in one statement each; ``bulk_create`` in batches."""
    from django.utils import timezone

    from attendance.models import Attendance, AttendanceStatus, ClassSession

    sessions = fixture.session_ids
    created_at = timezone.now() - dt.timedelta(days=1)

    def insert(cursor: Any) -> None:
        cursor.execute(
            "INSERT INTO attendances (status, minutes_late, created_at, note, student_id, session_id, session_date)"
            " SELECT 'present', 0, %s, '', student, cs.id, cs.session_date"
            " FROM unnest(%s::integer[]) AS student, unnest(%s::bigint[]) AS session"
            " JOIN class_sessions AS cs ON cs.id = session",
            [created_at, fixture.student_ids, sessions],
        )
        assert cursor.rowcount == fixture.rows

    def update(cursor: Any) -> None:
        cursor.execute(
            "UPDATE attendances SET status = 'late', minutes_late = 5 WHERE session_id = ANY(%s)", [sessions]
        )
        assert cursor.rowcount == fixture.rows

    def delete(cursor: Any) -> None:
        cursor.execute("DELETE FROM attendances WHERE session_id = ANY(%s)", [sessions])
        assert cursor.rowcount == fixture.rows

    def bulk_create(cursor: Any) -> None:
        # session_date given, as a caller holding only session ids would: the field reads
        # it from the session row by row otherwise (attendance/fields.py).
        dates = dict(ClassSession.objects.filter(pk__in=sessions).values_list("pk", "session_date"))
        objects = [
            Attendance(
                student_id=student,
                session_id=session,
                session_date=dates[session],
                status=AttendanceStatus.PRESENT,
                created_at=created_at,
            )
            for session in sessions
            for student in fixture.student_ids
        ]
        Attendance.objects.bulk_create(objects, batch_size=BATCH)

    return {"insert": insert, "update": update, "delete": delete, "bulk_create": bulk_create}


def single_row_samples(fixture: Fixture, statements: int, *, audit: bool, tracker: bool) -> dict[str, float]:
    """Seconds per statement of ``Attendance.objects.create`` then ``.filter(pk=).update()``, in autocommit.

    ``WARMUP`` untimed statements of each kind go first; the rows are removed
    afterwards (see ``clean_up``). Timed in blocks (``_median_block``).
    """
    from django.db import connection
    from django.utils import timezone

    from attendance.models import Attendance, AttendanceStatus, ClassSession

    assert connection.get_autocommit(), "single-row statements must run in autocommit"
    total = WARMUP + statements
    pairs = [(student, session) for session in fixture.session_ids for student in fixture.student_ids][:total]
    if len(pairs) < total:
        raise ValueError(f"the fixture holds {len(pairs)} rows, {total} needed")
    created_at = timezone.now()
    ids: list[int] = []
    # Given, so each create is one INSERT (the field would read it from the session otherwise).
    dates = dict(ClassSession.objects.filter(pk__in=fixture.session_ids).values_list("pk", "session_date"))

    def create(pair: tuple[int, int]) -> None:
        row = Attendance.objects.create(
            student_id=pair[0],
            session_id=pair[1],
            session_date=dates[pair[1]],
            status=AttendanceStatus.PRESENT,
            created_at=created_at,
        )
        ids.append(row.pk)

    def update(index: int) -> None:
        Attendance.objects.filter(pk=ids[index]).update(note=f"bench {index}")

    with triggers_committed(audit=audit, tracker=tracker):
        for pair in pairs[:WARMUP]:
            create(pair)
        insert_s = _median_block(lambda i: create(pairs[i]), range(WARMUP, total))
        for index in range(WARMUP):
            update(index)
        update_s = _median_block(update, range(WARMUP, total))
    return {"single_insert": insert_s, "single_update": update_s}


def _median_block(work: Callable[[int], None], indexes: range) -> float:
    """Seconds per call of ``work``: the median over blocks of ``BLOCK`` calls.

    Each call commits, so a stall of the shared disk's WAL flush lands on a few
    calls; the median block leaves it out instead of spreading it over the mean.
    """
    import statistics

    per_call: list[float] = []
    for start in range(indexes.start, indexes.stop, BLOCK):
        block = range(start, min(start + BLOCK, indexes.stop))
        started = time.perf_counter()
        for index in block:
            work(index)
        per_call.append((time.perf_counter() - started) / len(block))
    return statistics.median(per_call)


def clean_up(fixture: Fixture) -> None:
    """Delete the benchmark's attendance rows unaudited and untracked, untimed.

    ``pgtrigger.ignore`` rather than ``DISABLE TRIGGER``: DDL on the table
    would invalidate the trigger functions' cached plans and charge their
    re-planning to whichever variant runs next.
    """
    import pgtrigger
    from django.db import connection, transaction

    from attendance.models import Attendance

    triggers = Attendance._meta.triggers  # type: ignore[attr-defined]
    uris = [f"attendance.Attendance:{t.name}" for t in triggers if t.name.startswith("audit_")]
    with transaction.atomic(), pgtrigger.ignore(*uris), connection.cursor() as cursor:
        # The pghistory triggers rest disabled outside its own timed windows.
        cursor.execute("DELETE FROM attendances WHERE session_id = ANY(%s)", [fixture.session_ids])


def measure_round(fixture: Fixture, statements: int, *, audit: bool, tracker: bool) -> dict[str, float]:
    """One sample of every operation under one variant, seconds (per statement for the single-row ones)."""
    operations = bulk_operations(fixture)
    sample = {
        name: timed_in_transaction(operations[name], audit=audit, tracker=tracker)
        for name in ("insert", "update", "delete", "bulk_create")
    }
    clean_up(fixture)
    sample.update(single_row_samples(fixture, statements, audit=audit, tracker=tracker))
    clean_up(fixture)
    return sample


def entries_per_round(fixture: Fixture, statements: int) -> int:
    """History rows one round of a tracking variant writes: 4 per bulk row, 2 per single-row pair."""
    return 4 * fixture.rows + 2 * (WARMUP + statements)

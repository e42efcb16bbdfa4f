"""``seed_demo``: fill an empty (or reset) database with a reproducible demo school."""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql
from tqdm import tqdm

from auditing.context import bind_audit_context
from dashboards.refresh import MATERIALIZED_VIEWS, materialized_view_refresh
from demo.attendance_rows import count_attendance
from demo.loader import PlanLoader
from demo.plan import build_plan
from demo.rows import DemoPlan, PlanOptions
from growthcompass.db.roles import as_owner_outside_transactions
from growthcompass.partitions.maintenance import partitions_cover

DEFAULT_SEED = 42
# The plan of a school is built in memory before it is loaded (about 10 kB per
# student with its guardians, enrolments and attendance), so the size is capped
# where that stays well inside a developer machine's memory.
MAX_DEMO_STUDENTS = 200_000

# Domain tables, children first: the order TRUNCATE and the emptiness check use.
DOMAIN_TABLES: tuple[str, ...] = (
    "parsed_student_feedback",
    "attendances",
    "class_sessions",
    "enrollments",
    "courses",
    "terms",
    "guardians",
    "students",
)
DEMO_USERNAME_PATTERNS: tuple[str, ...] = ("student-%", "teacher-%")

# One hash for every demo user, computed once: hashing 10,000 passwords would
# dominate the run. The "!" prefix is Django's unusable-password marker (as
# ``set_unusable_password`` writes), so nobody can log in as a demo user on a
# server the data was copied to, and the value is fixed, so seeds reproduce.
DEMO_PASSWORD_HASH = f"{UNUSABLE_PASSWORD_PREFIX}growthcompass-demo-user"

# Seeding is one long transaction: a second seeder waits for the first instead
# of interleaving. Arbitrary constant, unique to this command.
ADVISORY_LOCK_KEY = 0x6763_5F73_6565_6401
# The load's COPY and commit outlast the 30 s per-statement guard of web requests.
LOAD_STATEMENT_TIMEOUT = "15min"


class ProgressStream(Protocol):
    """Where the progress bar is drawn: anything with ``write`` and ``flush``, like ``sys.stderr``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class DemoSeedRefused(Exception):
    """Seeding would be unsafe or would mix with existing data; nothing was written."""


@dataclass(frozen=True)
class SeedResult:
    """What a run wrote: rows per table (load order) and wall-clock seconds, planning included."""

    students: int
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        tables = " ".join(f"{table}={count}" for table, count in self.counts.items())
        return (
            f"Seeded demo data (seed {self.seed}): {tables}; {self.total_rows} rows in {self.seconds:.1f}s "
            f"({self.rows_per_second:,.0f} rows/s)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "students": self.students,
            "seed": self.seed,
            "counts": dict(self.counts),
            "total_rows": self.total_rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
        }


def seed_demo(
    *,
    students: int,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    progress: bool = False,
    progress_stream: ProgressStream | None = None,
    today: dt.date | None = None,
    options: PlanOptions | None = None,
) -> SeedResult:
    """Generate ``students`` students (and their school) from ``seed`` and load them in one transaction.

    The same ``seed``, ``students`` and ``today`` always produce the same rows
    (ids aside: they come from the tables' sequences). With ``reset`` the
    domain tables are truncated and demo users deleted first, in the same
    transaction; without it, any existing domain data or demo user makes this
    raise ``DemoSeedRefused`` before anything is written. Always refused when
    ``settings.DJANGO_ENV == "production"``. The progress bar goes to
    ``progress_stream`` (stderr by default) and hides itself when that is not a
    terminal.
    """
    if settings.DJANGO_ENV == "production":
        raise DemoSeedRefused("seed_demo refuses to run in production (DJANGO_ENV=production); it can wipe data.")
    if not 1 <= students <= MAX_DEMO_STUDENTS:
        raise ValueError(f"students must be at least 1 and at most {MAX_DEMO_STUDENTS}; got {students}")
    started = time.perf_counter()
    if not reset:
        # Fail fast, before spending seconds on a plan; re-checked under the lock below.
        _refuse_if_occupied()

    plan = build_plan(
        students=students,
        seed=seed,
        today=today or timezone.localdate(),
        tz=timezone.get_current_timezone(),
        options=options,
    )
    if plan.sessions:
        # attendances is partitioned by month: the school's past months get their partitions
        # first, so the register goes straight to them rather than the DEFAULT partition. That is
        # DDL, as the owner of the tables, before the load's transaction (an empty partition left by
        # a failed load is what maintenance would have created anyway).
        with as_owner_outside_transactions():
            partitions_cover(
                table="attendances",
                first=min(session.session_date for session in plan.sessions),
                last=max(session.session_date for session in plan.sessions),
            )
    with (
        tqdm(
            total=_planned_rows(plan),
            unit="row",
            unit_scale=True,
            file=progress_stream or sys.stderr,
            disable=None if progress else True,
            desc="waiting for lock",
        ) as bar,
        transaction.atomic(),
        connection.cursor() as django_cursor,
    ):
        raw = django_cursor.connection
        if not isinstance(raw, psycopg.Connection):
            raise TypeError(f"seed_demo needs the psycopg 3 backend; got {type(raw).__name__}")
        with raw.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
            # COPY goes through psycopg directly, past Django's execute wrapper: bind the
            # caller's audit context (user, command) to this transaction by hand.
            bind_audit_context(cursor)
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", (LOAD_STATEMENT_TIMEOUT,))
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED. Checking them at the end of
            # each COPY instead of at commit costs the same, names the failing table, and lets
            # TRUNCATE run inside a caller's transaction that already wrote to these tables
            # (PostgreSQL refuses to truncate a table with pending deferred checks).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            if reset:
                bar.set_description("reset")
                _reset(cursor)
            else:
                _refuse_if_occupied()
        counts = PlanLoader(raw, bar, DEMO_PASSWORD_HASH).load(plan)
        bar.set_description("commit")
    return SeedResult(students=students, seed=seed, counts=counts, seconds=time.perf_counter() - started)


def demo_views_refresh() -> dict[str, int]:
    """Refresh every materialized view after a load: rows per view.

    Without it the dashboards went on showing the students a ``--reset`` had just
    deleted until the next scheduled refresh. Waits behind a refresh already running.
    """
    return {
        view: materialized_view_refresh(view=view, concurrently=False, wait=True).row_count
        for view in MATERIALIZED_VIEWS
    }


def _planned_rows(plan: DemoPlan) -> int:
    return (
        len(plan.users)
        + len(plan.students)
        + len(plan.guardians)
        + len(plan.terms)
        + len(plan.courses)
        + len(plan.enrollments)
        + len(plan.sessions)
        + count_attendance(plan)
        + len(plan.feedback)
    )


def demo_data_present() -> bool:
    """Whether any domain table (or a demo user) already holds rows."""
    return bool(_occupied())


def _occupied() -> list[str]:
    """Names of domain tables holding rows, plus ``auth_user`` if demo users exist."""
    occupied: list[str] = []
    with connection.cursor() as cursor:
        for table in DOMAIN_TABLES:
            cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
            if cursor.fetchone() == (True,):
                occupied.append(table)
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM auth_user WHERE username LIKE ANY(%s))", (list(DEMO_USERNAME_PATTERNS),)
        )
        if cursor.fetchone() == (True,):
            occupied.append("auth_user (student-*/teacher-* users)")
    return occupied


def _refuse_if_occupied() -> None:
    occupied = _occupied()
    if occupied:
        raise DemoSeedRefused(
            f"Demo data would mix with existing rows in: {', '.join(occupied)}. "
            "Nothing was written; rerun with --reset to replace them."
        )


def _reset(cursor: psycopg.Cursor[Any]) -> None:
    """Empty the domain tables and delete the demo users.

    No CASCADE: if some other table references these, TRUNCATE fails and the
    transaction rolls back rather than silently emptying that table too.
    """
    # The application role may not TRUNCATE (it ignores row-level security): a function owned by
    # the tables' owner does it, for a system scope only (growthcompass.rls migration 0001).
    cursor.execute("SELECT gc_system_truncate(%s)", (list(DOMAIN_TABLES),))
    # Group and permission links would fail the users' foreign keys at commit.
    patterns = (list(DEMO_USERNAME_PATTERNS),)
    cursor.execute(
        "DELETE FROM auth_user_groups WHERE user_id IN (SELECT id FROM auth_user WHERE username LIKE ANY(%s))",
        patterns,
    )
    cursor.execute(
        "DELETE FROM auth_user_user_permissions"
        " WHERE user_id IN (SELECT id FROM auth_user WHERE username LIKE ANY(%s))",
        patterns,
    )
    cursor.execute("DELETE FROM auth_user WHERE username LIKE ANY(%s)", patterns)

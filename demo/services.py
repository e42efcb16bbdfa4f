"""``seed_demo``: fill an empty (or reset) database with a reproducible demo school."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import time
from collections.abc import Iterator
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
from demo.loader import PlanLoader
from demo.plan import iter_plans, school_terms
from demo.rows import DemoPlan, PlanOptions
from growthcompass.db.roles import as_owner_outside_transactions
from growthcompass.partitions.maintenance import partitions_cover

DEFAULT_SEED = 42
# The school is planned and loaded one cohort at a time (demo.plan), so memory does not grow with
# the size; the cap bounds the time (about an hour at 55,000 rows/s) and the disk (~25 million rows).
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
    cohorts_per_chunk: int = 1,
) -> SeedResult:
    """Generate ``students`` students (and their school) from ``seed`` and load them in one transaction.

    The same ``seed``, ``students`` and ``today`` always produce the same rows
    (ids aside: they come from the tables' sequences). With ``reset`` the
    domain tables are truncated and demo users deleted first, in the same
    transaction; without it, any existing domain data or demo user makes this
    raise ``DemoSeedRefused`` before anything is written. Always refused when
    ``settings.DJANGO_ENV == "production"``. The progress bar goes to
    ``progress_stream`` (stderr by default) and hides itself when that is not a
    terminal; it counts students, a chunk at a time.

    The school is planned and copied ``cohorts_per_chunk`` cohorts at a time
    (``demo.plan``): memory is one chunk's rows whatever ``students`` is, and the
    rows are the same whatever the chunk (the cohort size in ``options`` is part
    of what the data is; how many cohorts are held at once is not).
    """
    if settings.DJANGO_ENV == "production":
        raise DemoSeedRefused("seed_demo refuses to run in production (DJANGO_ENV=production); it can wipe data.")
    if not 1 <= students <= MAX_DEMO_STUDENTS:
        raise ValueError(f"students must be at least 1 and at most {MAX_DEMO_STUDENTS}; got {students}")
    if cohorts_per_chunk < 1:
        raise ValueError(f"cohorts_per_chunk must be at least 1; got {cohorts_per_chunk}")
    started = time.perf_counter()
    if not reset:
        # Fail fast, before spending seconds on a plan; re-checked under the lock below.
        _refuse_if_occupied()

    today = today or timezone.localdate()
    terms = school_terms(today)
    # attendances is partitioned by month: the school's months get their partitions first, so the
    # register goes straight to them rather than the DEFAULT partition. Lessons run from the first
    # term's first Monday to the last term's last Friday, the terms' bounds. That is DDL, as the
    # owner of the tables, before the load's transaction (an empty partition left by a failed load
    # is what maintenance would have created anyway).
    with as_owner_outside_transactions():
        partitions_cover(table="attendances", first=terms[0].starts_on, last=terms[-1].ends_on)
    plans = iter_plans(students=students, seed=seed, today=today, tz=timezone.get_current_timezone(), options=options)
    with (
        tqdm(
            total=students,
            unit="student",
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
        loader = PlanLoader(raw, bar, DEMO_PASSWORD_HASH)
        loader.load_terms(terms)
        while chunk := _next_chunk(plans, cohorts_per_chunk):
            bar.set_description("planning", refresh=False)
            loader.load(chunk)
            bar.update(sum(len(plan.students) for plan in chunk))
            bar.set_postfix(rows=f"{sum(loader.counts.values()):,}", refresh=False)
            del chunk  # not alive while the next chunk is planned
        counts = loader.finish()
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


def _next_chunk(plans: Iterator[DemoPlan], size: int) -> list[DemoPlan]:
    """The next ``size`` cohort plans (fewer at the end; none when the school is done)."""
    return list(itertools.islice(plans, size))


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

"""Copy a ``DemoPlan`` into PostgreSQL with ``COPY ... FROM STDIN``.

COPY is what makes a million rows take seconds instead of minutes: one
statement per table and chunk of cohorts (``demo.plan``), rows streamed as the
generator makes them, so Python and the server work in parallel on the two
cores. Ids for rows that others point at
(users, terms, courses, sessions) are reserved from each table's own sequence
up front, which lets every later row be written in the same pass without
reading anything back. Rows nothing points at take their id from the column
default.

The caller owns the transaction; this module never commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from tqdm import tqdm

from demo.attendance_rows import iter_attendance
from demo.rows import DemoPlan, PlannedTerm


@dataclass(frozen=True)
class Table:
    """A table and the columns the loader writes, in ``write_row`` order. Names are fixed here, never input."""

    name: str
    columns: tuple[str, ...]

    def copy_statement(self) -> sql.Composed:
        return sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
            table=sql.Identifier(self.name),
            columns=sql.SQL(", ").join(sql.Identifier(column) for column in self.columns),
        )


USERS = Table(
    "auth_user",
    (
        "id",
        "password",
        "last_login",
        "is_superuser",
        "username",
        "first_name",
        "last_name",
        "email",
        "is_staff",
        "is_active",
        "date_joined",
    ),
)
STUDENTS = Table(
    "students", ("id", "student_number", "grade_level", "status", "enrolled_on", "left_on", "leaving_reason")
)
GUARDIANS = Table(
    "guardians", ("student_id", "full_name", "relationship", "phone", "email", "is_primary", "is_emergency_contact")
)
TERMS = Table("terms", ("id", "name", "starts_on", "ends_on"))
COURSES = Table(
    "courses", ("id", "code", "name", "subject", "grade_level", "term_id", "teacher_id", "capacity", "is_active")
)
ENROLLMENTS = Table("enrollments", ("student_id", "course_id", "status", "enrolled_at", "ended_at", "reason"))
CLASS_SESSIONS = Table(
    "class_sessions", ("id", "course_id", "session_date", "starts_at", "ends_at", "topic", "is_cancelled")
)
# session_date is the session's (the partition key; the composite foreign key checks it).
ATTENDANCES = Table(
    "attendances",
    ("student_id", "session_id", "session_date", "status", "minutes_late", "recorded_by_id", "created_at", "note"),
)
FEEDBACK = Table(
    "parsed_student_feedback",
    ("student_id", "session_id", "author_id", "raw_text", "parsed_at", "scores", "sentiment", "tags"),
)

# Load order: every table after the ones it references.
LOAD_ORDER: tuple[Table, ...] = (
    USERS,
    STUDENTS,
    GUARDIANS,
    TERMS,
    COURSES,
    ENROLLMENTS,
    CLASS_SESSIONS,
    ATTENDANCES,
    FEEDBACK,
)


class PlanLoader:
    """Writes a school's cohorts through one raw psycopg connection, chunk by chunk, counting rows per table.

    ``load_terms`` first (every cohort shares the terms), then ``load`` once per
    chunk of cohort plans, then ``finish``. Each ``load`` copies its chunk's rows
    table by table, one COPY per table, and keeps nothing of them but the row
    counts: memory is one chunk's plans, whatever the size of the school.
    """

    def __init__(self, connection: psycopg.Connection[Any], progress: tqdm[Any], password_hash: str) -> None:
        self.connection = connection
        self.progress = progress
        self.password_hash = password_hash
        self.counts: dict[str, int] = {table.name: 0 for table in LOAD_ORDER}
        self.term_ids: list[int] = []
        self._staged: dict[str, bool] = {}

    def load_terms(self, terms: Sequence[PlannedTerm]) -> None:
        self.term_ids = self.reserve_ids(TERMS, len(terms))
        self.copy(TERMS, ((self.term_ids[i], t.name, t.starts_on, t.ends_on) for i, t in enumerate(terms)))

    def load(self, plans: Sequence[DemoPlan]) -> None:
        """Copy every table of a chunk of cohort ``plans`` (terms aside) in ``LOAD_ORDER``."""
        if not self.term_ids:
            raise RuntimeError("load_terms() comes before load()")
        loads = [_CohortIds(plan) for plan in plans]
        for ids in loads:
            ids.users = self.reserve_ids(USERS, len(ids.plan.users))
            ids.students = [ids.users[s.user] for s in ids.plan.students]
        self.copy(USERS, (row for ids in loads for row in self._user_rows(ids)))
        self.copy(
            STUDENTS,
            (
                (ids.students[i], s.student_number, s.grade_level, s.status, s.enrolled_on, None, "")
                for ids in loads
                for i, s in enumerate(ids.plan.students)
            ),
        )
        self.copy(
            GUARDIANS,
            (
                (
                    ids.students[g.student],
                    g.full_name,
                    g.relationship,
                    g.phone,
                    g.email,
                    g.is_primary,
                    g.is_emergency_contact,
                )
                for ids in loads
                for g in ids.plan.guardians
            ),
        )
        for ids in loads:
            ids.courses = self.reserve_ids(COURSES, len(ids.plan.courses))
        term_ids = self.term_ids
        self.copy(
            COURSES,
            (
                (
                    ids.courses[i],
                    c.code,
                    c.name,
                    c.subject,
                    c.grade_level,
                    term_ids[c.term],
                    ids.users[c.teacher],
                    c.capacity,
                    c.is_active,
                )
                for ids in loads
                for i, c in enumerate(ids.plan.courses)
            ),
        )
        self.copy(
            ENROLLMENTS,
            (
                (ids.students[e.student], ids.courses[e.course], e.status, e.enrolled_at, e.ended_at, e.reason)
                for ids in loads
                for e in ids.plan.enrollments
            ),
        )
        for ids in loads:
            ids.sessions = self.reserve_ids(CLASS_SESSIONS, len(ids.plan.sessions))
        self.copy(
            CLASS_SESSIONS,
            (
                (
                    ids.sessions[i],
                    ids.courses[s.course],
                    s.session_date,
                    s.starts_at,
                    s.ends_at,
                    s.topic,
                    s.is_cancelled,
                )
                for ids in loads
                for i, s in enumerate(ids.plan.sessions)
            ),
        )
        self.copy(ATTENDANCES, (row for ids in loads for row in _attendance_rows(ids)))
        self.copy(
            FEEDBACK,
            (
                (
                    ids.students[f.student],
                    _maybe(ids.sessions, f.session),
                    _maybe(ids.users, f.author),
                    f.raw_text,
                    f.parsed_at,
                    json.dumps(f.scores),
                    f.sentiment,
                    list(f.tags),
                )
                for ids in loads
                for f in ids.plan.feedback
            ),
        )

    def finish(self) -> dict[str, int]:
        """``ANALYZE`` the loaded tables; return rows per table."""
        self.analyze()
        return dict(self.counts)

    def _user_rows(self, ids: _CohortIds) -> Iterator[tuple[Any, ...]]:
        for i, u in enumerate(ids.plan.users):
            yield (
                ids.users[i],
                self.password_hash,
                None,
                False,
                u.username,
                u.first_name,
                u.last_name,
                u.email,
                False,
                True,
                u.date_joined,
            )

    def reserve_ids(self, table: Table, count: int) -> list[int]:
        """Take ``count`` ids from ``table``'s id sequence (identity columns have one too)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table.name, count),
            )
            return sorted(row[0] for row in cursor.fetchall())

    def copy(self, table: Table, rows: Iterable[Sequence[Any]]) -> int:
        """Stream ``rows`` into ``table`` with one COPY; return how many were written.

        PostgreSQL refuses ``COPY FROM`` into a table whose row-level security
        applies to the current role (the application role's case): such a
        table is loaded through a temporary staging table and one
        ``INSERT ... SELECT``, which the policies check (a system scope passes).
        """
        self.progress.set_description(table.name, refresh=False)
        written = 0
        staged = self._staged.get(table.name)
        if staged is None:
            staged = self._staged[table.name] = self._rls_applies(table)
        target = Table(f"_gc_stage_{table.name}", table.columns) if staged else table
        with self.connection.cursor() as cursor:
            if staged:
                cursor.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
                    ).format(
                        stage=sql.Identifier(target.name),
                        table=sql.Identifier(table.name),
                        columns=sql.SQL(", ").join(sql.Identifier(column) for column in table.columns),
                    )
                )
            with cursor.copy(target.copy_statement()) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
                    written += 1
            if staged:
                columns = sql.SQL(", ").join(sql.Identifier(column) for column in table.columns)
                cursor.execute(
                    sql.SQL("INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}; DROP TABLE {stage}").format(
                        table=sql.Identifier(table.name), columns=columns, stage=sql.Identifier(target.name)
                    )
                )
        self.counts[table.name] = self.counts.get(table.name, 0) + written
        return written

    def _rls_applies(self, table: Table) -> bool:
        with self.connection.cursor() as cursor:
            row = cursor.execute("SELECT row_security_active(%s::regclass)", (table.name,)).fetchone()
        return bool(row and row[0])

    def analyze(self) -> None:
        """Fresh statistics, so the first queries after a load don't plan for empty tables."""
        self.progress.set_description("analyze")
        with self.connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("ANALYZE {tables}").format(
                    tables=sql.SQL(", ").join(sql.Identifier(table.name) for table in LOAD_ORDER)
                )
            )


@dataclass
class _CohortIds:
    """One cohort's plan with the database ids reserved for its rows, by list position."""

    plan: DemoPlan
    users: list[int] = field(default_factory=list)
    students: list[int] = field(default_factory=list)
    courses: list[int] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)


def _attendance_rows(ids: _CohortIds) -> Iterator[tuple[Any, ...]]:
    sessions = ids.plan.sessions
    for a in iter_attendance(ids.plan):
        yield (
            ids.students[a.student],
            ids.sessions[a.session],
            sessions[a.session].session_date,
            a.status,
            a.minutes_late,
            ids.users[a.recorded_by],
            a.created_at,
            a.note,
        )


def _maybe(ids: list[int], position: int | None) -> int | None:
    return None if position is None else ids[position]

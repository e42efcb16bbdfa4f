"""Copy a ``DemoPlan`` into PostgreSQL with ``COPY ... FROM STDIN``.

COPY is what makes a million rows take seconds instead of minutes: one
statement per table, rows streamed as the generator makes them, so Python and
the server work in parallel on the two cores. Ids for rows that others point at
(users, terms, courses, sessions) are reserved from each table's own sequence
up front, which lets every later row be written in the same pass without
reading anything back. Rows nothing points at take their id from the column
default.

The caller owns the transaction; this module never commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from tqdm import tqdm

from demo.attendance_rows import iter_attendance
from demo.rows import DemoPlan

# How many rows to write between progress-bar refreshes.
PROGRESS_STEP = 10_000


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
    """Writes one plan through one raw psycopg connection, counting rows per table."""

    def __init__(self, connection: psycopg.Connection[Any], progress: tqdm[Any], password_hash: str) -> None:
        self.connection = connection
        self.progress = progress
        self.password_hash = password_hash
        self.counts: dict[str, int] = {}

    def load(self, plan: DemoPlan) -> dict[str, int]:
        """Copy every table of ``plan`` in ``LOAD_ORDER`` and ``ANALYZE`` them; return rows per table."""
        user_ids = self.reserve_ids(USERS, len(plan.users))
        self.copy(
            USERS,
            (
                (
                    user_ids[i],
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
                for i, u in enumerate(plan.users)
            ),
        )
        student_ids = [user_ids[s.user] for s in plan.students]
        self.copy(
            STUDENTS,
            (
                (student_ids[i], s.student_number, s.grade_level, s.status, s.enrolled_on, None, "")
                for i, s in enumerate(plan.students)
            ),
        )
        self.copy(
            GUARDIANS,
            (
                (
                    student_ids[g.student],
                    g.full_name,
                    g.relationship,
                    g.phone,
                    g.email,
                    g.is_primary,
                    g.is_emergency_contact,
                )
                for g in plan.guardians
            ),
        )
        term_ids = self.reserve_ids(TERMS, len(plan.terms))
        self.copy(TERMS, ((term_ids[i], t.name, t.starts_on, t.ends_on) for i, t in enumerate(plan.terms)))
        course_ids = self.reserve_ids(COURSES, len(plan.courses))
        self.copy(
            COURSES,
            (
                (
                    course_ids[i],
                    c.code,
                    c.name,
                    c.subject,
                    c.grade_level,
                    term_ids[c.term],
                    user_ids[c.teacher],
                    c.capacity,
                    c.is_active,
                )
                for i, c in enumerate(plan.courses)
            ),
        )
        self.copy(
            ENROLLMENTS,
            (
                (student_ids[e.student], course_ids[e.course], e.status, e.enrolled_at, e.ended_at, e.reason)
                for e in plan.enrollments
            ),
        )
        session_ids = self.reserve_ids(CLASS_SESSIONS, len(plan.sessions))
        self.copy(
            CLASS_SESSIONS,
            (
                (session_ids[i], course_ids[s.course], s.session_date, s.starts_at, s.ends_at, s.topic, s.is_cancelled)
                for i, s in enumerate(plan.sessions)
            ),
        )
        self.copy(
            ATTENDANCES,
            (
                (
                    student_ids[a.student],
                    session_ids[a.session],
                    plan.sessions[a.session].session_date,
                    a.status,
                    a.minutes_late,
                    user_ids[a.recorded_by],
                    a.created_at,
                    a.note,
                )
                for a in iter_attendance(plan)
            ),
        )
        self.copy(
            FEEDBACK,
            (
                (
                    student_ids[f.student],
                    _maybe(session_ids, f.session),
                    _maybe(user_ids, f.author),
                    f.raw_text,
                    f.parsed_at,
                    json.dumps(f.scores),
                    f.sentiment,
                    list(f.tags),
                )
                for f in plan.feedback
            ),
        )
        self.analyze()
        return dict(self.counts)

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
        self.progress.set_description(table.name)
        written = 0
        staged = self._rls_applies(table)
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
                    if not written % PROGRESS_STEP:
                        self.progress.update(PROGRESS_STEP)
            if staged:
                columns = sql.SQL(", ").join(sql.Identifier(column) for column in table.columns)
                cursor.execute(
                    sql.SQL("INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}; DROP TABLE {stage}").format(
                        table=sql.Identifier(table.name), columns=columns, stage=sql.Identifier(target.name)
                    )
                )
        self.progress.update(written % PROGRESS_STEP)
        self.counts[table.name] = written
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


def _maybe(ids: list[int], position: int | None) -> int | None:
    return None if position is None else ids[position]

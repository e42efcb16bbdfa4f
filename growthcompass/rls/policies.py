"""Policies declared per app, and the SQL rendered from them (one place for every table's policy SQL).

An app takes part from its own ``rls.py``, discovered at start-up like
``audit.py``::

    RLS_TABLES = ("students", "guardians")        # tables of this app: ENABLE + FORCE
    POLICIES = (Policy("students", "students_staff", using="(SELECT gc_rls_sees_all())"), ...)

``RLS_TABLES`` are the app's own tables, which get row-level security
enabled and forced and the application role's privileges. ``POLICIES`` may
concern another app's table: permissive policies are OR-ed, so the courses
app adds what a teacher sees of ``students`` (through enrolments) to the
students app's staff policy without the students app knowing courses.

Migrations freeze a copy of the declaration and run ``apply_sql`` /
``remove_sql`` from it; ``manage.py rls_check`` reports a declared table or
policy missing from the database, and ``manage.py rls_apply`` re-applies the
current declaration (for a table that gained partitions, say).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from growthcompass.db.roles import APPLICATION_ROLE

COMMANDS = ("ALL", "SELECT", "INSERT", "UPDATE", "DELETE")
# What the application role may do on a table with row-level security (the policies decide which rows).
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


@dataclass(frozen=True)
class Policy:
    """One permissive policy: ``using`` filters the rows read (or updated, deleted), ``check`` those written."""

    table: str
    name: str
    command: str = "ALL"
    using: str | None = None
    check: str | None = None

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ValueError(f"policy {self.name}: command must be one of {', '.join(COMMANDS)}")
        if self.command == "INSERT" and self.using is not None:
            raise ValueError(f"policy {self.name}: an INSERT policy has only a check")
        if self.command in ("SELECT", "DELETE") and self.check is not None:
            raise ValueError(f"policy {self.name}: a {self.command} policy has only using")
        for identifier in (self.table, self.name):
            if not identifier.replace("_", "").isalnum():
                raise ValueError(f"not a plain identifier: {identifier!r}")


@dataclass(frozen=True)
class AppDeclaration:
    """An app's ``rls.py``: the tables it owns and the policies it declares (on any table)."""

    app_label: str
    tables: tuple[str, ...]
    policies: tuple[Policy, ...]


_declarations: dict[str, AppDeclaration] = {}


def register_module(app_label: str, module: ModuleType) -> None:
    """Record ``module``'s ``RLS_TABLES`` and ``POLICIES`` for ``app_label``."""
    tables = tuple(getattr(module, "RLS_TABLES", ()))
    policies = tuple(getattr(module, "POLICIES", ()))
    for policy in policies:
        if not isinstance(policy, Policy):
            raise TypeError(f"{module.__name__}.POLICIES holds {policy!r}, not a Policy")
    _declarations[app_label] = AppDeclaration(app_label=app_label, tables=tables, policies=policies)


def declarations() -> list[AppDeclaration]:
    return list(_declarations.values())


def declared_tables() -> list[str]:
    return [table for declaration in _declarations.values() for table in declaration.tables]


def declared_policies() -> list[Policy]:
    return [policy for declaration in _declarations.values() for policy in declaration.policies]


def _quote(identifier: str) -> str:
    # Identifiers are validated plain words (Policy.__post_init__, table names from declarations).
    if not identifier.replace("_", "").isalnum():
        raise ValueError(f"not a plain identifier: {identifier!r}")
    return f'"{identifier}"'


def enable_sql(tables: Iterable[str]) -> str:
    """ENABLE + FORCE row-level security and the application role's privileges on each table."""
    statements = []
    for table in tables:
        quoted = _quote(table)
        statements += [
            f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY;",
            f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY;",
            f"GRANT {TABLE_PRIVILEGES} ON {quoted} TO {_quote(APPLICATION_ROLE)};",
        ]
    return "\n".join(statements) + "\n"


def disable_sql(tables: Iterable[str]) -> str:
    statements = []
    for table in tables:
        quoted = _quote(table)
        statements += [
            f"ALTER TABLE IF EXISTS {quoted} NO FORCE ROW LEVEL SECURITY;",
            f"ALTER TABLE IF EXISTS {quoted} DISABLE ROW LEVEL SECURITY;",
        ]
    return "\n".join(statements) + "\n"


def policy_sql(policy: Policy) -> str:
    """``DROP POLICY IF EXISTS`` + ``CREATE POLICY``: re-running it replaces the policy."""
    table, name = _quote(policy.table), _quote(policy.name)
    parts = [f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {policy.command} TO PUBLIC"]
    if policy.using is not None:
        parts.append(f"USING ({policy.using})")
    if policy.check is not None:
        parts.append(f"WITH CHECK ({policy.check})")
    return f"DROP POLICY IF EXISTS {name} ON {table};\n" + " ".join(parts) + ";\n"


def apply_sql(*, tables: Iterable[str] = (), policies: Iterable[Policy] = ()) -> str:
    """The forward SQL of a migration: enable the tables, then (re)create the policies."""
    return enable_sql(tables) + "".join(policy_sql(policy) for policy in policies)


def remove_sql(*, tables: Iterable[str] = (), policies: Iterable[Policy] = ()) -> str:
    """The reverse of ``apply_sql``: drop the policies, then disable the tables."""
    drops = "".join(
        f"DROP POLICY IF EXISTS {_quote(policy.name)} ON {_quote(policy.table)};\n" for policy in policies
    )
    return drops + disable_sql(tables)


# Expressions the declarations share. Each function call is a sub-select so the planner runs it
# once per statement (an InitPlan), not once per row.
SEES_ALL = "(SELECT gc_rls_sees_all())"
IS_ADMIN = "(SELECT gc_rls_is_admin())"
HAS_SCOPE = "((SELECT gc_rls_kind()) IS NOT NULL)"
TEACHER_ID = "(SELECT gc_rls_teacher_id())"
# Put first in every teacher policy: in any other scope it is false once per statement, and
# PostgreSQL evaluates AND from the left, so the teacher's sets are never built for staff.
IS_TEACHER = f"{TEACHER_ID} IS NOT NULL"


def staff_policy(table: str) -> Policy:
    """Administrators, office staff and system maintenance read and write every row of ``table``."""
    return Policy(table, f"{table}_staff", using=SEES_ALL, check=SEES_ALL)

"""What ``rls_check`` and the ``row_level_security`` health check verify, one problem per line.

- every declared table, and every table another app requires (the auditing
  app requires its audited domain tables), has row-level security enabled
  and forced;
- every declared policy exists;
- the role the application connects as is no superuser, lacks ``BYPASSRLS``,
  owns no table of the schema, and has the application role's privileges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connections

from growthcompass.db.roles import APPLICATION_ROLE
from growthcompass.rls.policies import declared_policies, declared_tables

# Callables returning tables that must be under row-level security (registered by other apps).
_required: list[Callable[[], Iterable[str]]] = []


def register_required_tables(provider: Callable[[], Iterable[str]]) -> None:
    """``provider()`` names tables that must have row-level security (e.g. every audited domain table)."""
    if provider not in _required:
        _required.append(provider)


@dataclass(frozen=True)
class RlsReport:
    role: str
    tables: tuple[str, ...]
    policies: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def required_tables() -> list[str]:
    tables = dict.fromkeys(declared_tables())
    for provider in _required:
        tables.update(dict.fromkeys(provider()))
    return list(tables)


def rls_report(*, using: str = "default") -> RlsReport:
    problems: list[str] = []
    tables = required_tables()
    declared = set(declared_tables())
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
            [tables],
        )
        state = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT tablename, policyname FROM pg_policies WHERE schemaname = current_schema()"
        )
        existing = {(row[0], row[1]) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT r.rolname, r.rolsuper, r.rolbypassrls, "
            "coalesce((SELECT pg_has_role(current_user, a.oid, 'USAGE') FROM pg_roles a WHERE a.rolname = %s), false) "
            "FROM pg_roles r WHERE r.rolname = current_user",
            [APPLICATION_ROLE],
        )
        role, superuser, bypass, member = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm', 'v') "
            "AND pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY 1 LIMIT 5"
        )
        owned = [row[0] for row in cursor.fetchall()]
    for table in tables:
        if table not in state:
            if table in declared:
                problems.append(f"table {table} is declared for row-level security but does not exist (migrate)")
            continue
        enabled, forced = state[table]
        if not enabled:
            problems.append(f"table {table} does not have row-level security enabled")
        elif not forced:
            problems.append(f"table {table} has row-level security enabled but not forced")
        if table not in declared:
            problems.append(f"table {table} is audited but no app declares its row-level security (<app>/rls.py)")
    for policy in declared_policies():
        if (policy.table, policy.name) not in existing:
            problems.append(f"policy {policy.name} on {policy.table} is missing (migrate, or manage.py rls_apply)")
    if superuser:
        problems.append(f"the application connects as {role}, a superuser: row-level security does not apply")
    if bypass:
        problems.append(f"the application connects as {role}, which has BYPASSRLS")
    if owned:
        problems.append(
            f"the application connects as {role}, which owns {', '.join(owned)}: set MIGRATION_DATABASE_URL to the "
            "owner and DATABASE_URL to a role that owns nothing"
        )
    if not member and not superuser:
        problems.append(f"the application connects as {role}, which is not a member of {APPLICATION_ROLE}")
    return RlsReport(role=role, tables=tuple(tables), policies=len(declared_policies()), problems=tuple(problems))


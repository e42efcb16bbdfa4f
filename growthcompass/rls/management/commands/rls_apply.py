"""``manage.py rls_apply [--table T ...] [--dry-run]``: re-apply the declared row-level security, as the owner.

For a database whose policies drifted from the declarations (a table recreated, a partitioned table
rebuilt by maintenance): renders every app's ``rls.py`` with ``apply_sql`` -- ENABLE, FORCE, the
application role's privileges, ``DROP POLICY IF EXISTS`` + ``CREATE POLICY`` -- and runs it in one
transaction as the owner (``MIGRATION_DATABASE_URL``). ``--dry-run`` prints the SQL instead.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections, transaction

from growthcompass.command_arguments import text
from growthcompass.db.roles import as_owner
from growthcompass.rls.policies import apply_sql, declared_policies, declared_tables


class Command(BaseCommand):
    help = "Re-apply the declared row-level security (tables, privileges, policies) as the owner of the tables."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--table", action="append", default=[], type=text(63), help="Only this declared table (repeatable)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Print the SQL; change nothing.")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        if using not in connections:
            raise CommandError(f"Unknown database alias {using!r}; known: {', '.join(connections.settings)}.")
        known = declared_tables()
        wanted = options["table"] or known
        unknown = [table for table in wanted if table not in known]
        if unknown:
            raise CommandError(f"Not a declared table: {', '.join(unknown)}; declared: {', '.join(known)}.")
        statement = apply_sql(
            tables=wanted, policies=[policy for policy in declared_policies() if policy.table in wanted]
        )
        if options["dry_run"]:
            self.stdout.write(statement)
            return
        try:
            with as_owner(using), transaction.atomic(using=using), connections[using].cursor() as cursor:
                cursor.execute(statement)
        except DatabaseError as exc:
            raise CommandError(f"rls_apply failed: {str(exc).strip().splitlines()[0]}") from exc
        self.stdout.write(f"row-level security re-applied to {len(wanted)} table(s)")

"""Exit non-zero, one line per problem, when the migration history cannot be trusted."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from growthcompass.command_arguments import bounded_int, database_alias, database_alias_or_refuse
from growthcompass.schema.validation import LARGE_TABLE_ROWS, migrations_validate


class Command(BaseCommand):
    help = (
        "Validate migrations: applied files edited or missing since they were applied, model changes without a "
        "migration, conflicting leaf migrations, inconsistent history, irreversible project migrations, and "
        "pending index builds on large tables without CONCURRENTLY. One line per problem and a non-zero exit; "
        "a one-line summary and exit 0 otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--large-table-rows",
            type=bounded_int(1, 10**10),
            default=LARGE_TABLE_ROWS,
            metavar="N",
            help=f"A table this size counts as large for the locking check (default {LARGE_TABLE_ROWS}).",
        )
        parser.add_argument(
            "--database", type=database_alias, default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        database_alias_or_refuse(options["database"])
        if options["large_table_rows"] < 1:
            raise CommandError("--large-table-rows must be at least 1.")
        report = migrations_validate(using=options["database"], large_table_rows=options["large_table_rows"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        elif report.ok:
            self.stdout.write(self.style.SUCCESS(report.summary()))
        else:
            for problem in report.problems:
                self.stdout.write(problem.line())
        if not report.ok:
            raise CommandError(report.summary())

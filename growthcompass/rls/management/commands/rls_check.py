"""``manage.py rls_check [--json]``: is row-level security in force? Exit 1 with one line per problem."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from growthcompass.rls.checks import rls_report


class Command(BaseCommand):
    help = (
        "Check row-level security: every declared and audited domain table has it enabled and forced, the "
        "declared policies exist, the application role is no superuser, lacks BYPASSRLS and owns no table."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--database", default="default", help="Database alias to check (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["database"] not in connections:
            raise CommandError(
                f"Unknown database alias {options['database']!r}; known: {', '.join(connections.settings)}."
            )
        try:
            report = rls_report(using=options["database"])
        except DatabaseError as exc:
            raise CommandError(f"cannot check row-level security: {str(exc).strip().splitlines()[0]}") from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": report.ok,
                        "role": report.role,
                        "tables": list(report.tables),
                        "policies": report.policies,
                        "problems": list(report.problems),
                    },
                    indent=2,
                )
            )
        elif report.ok:
            self.stdout.write(
                f"row-level security in force: {len(report.tables)} tables, {report.policies} policies, "
                f"application role {report.role}"
            )
        for problem in report.problems if not options["json"] else ():
            self.stderr.write(problem)
        if not report.ok:
            raise SystemExit(1)

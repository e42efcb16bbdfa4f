"""What ``migrate_up`` and ``migrate_down`` share: their common options and the dry-run printout."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration

from growthcompass.command_arguments import bounded_int, database_alias, database_alias_or_refuse
from growthcompass.schema.selectors import step_sql


def add_plan_arguments(parser: CommandParser) -> None:
    """``--dry-run``, ``--lock-timeout``, ``--database`` and ``--json``."""
    parser.add_argument("--dry-run", action="store_true", help="Print the plan and its SQL; change nothing.")
    parser.add_argument(
        "--lock-timeout",
        type=bounded_int(0, 3_600_000),
        metavar="MS",
        help="lock_timeout in milliseconds (default 5000).",
    )
    parser.add_argument(
        "--database", type=database_alias, default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
    )
    parser.add_argument("--json", action="store_true", help="Machine-readable output.")


def check_lock_timeout(options: dict[str, Any]) -> None:
    """What argparse checks, for ``call_command`` keyword arguments (which skip the types)."""
    database_alias_or_refuse(options.get("database", DEFAULT_DB_ALIAS))
    if options["lock_timeout"] is not None and options["lock_timeout"] < 0:
        raise CommandError("--lock-timeout must be 0 (no limit) or a positive number of milliseconds.")


def write_dry_run(
    command: BaseCommand,
    loader: MigrationLoader,
    plan: Sequence[tuple[Migration, bool]],
    *,
    backwards: bool,
    as_json: bool,
) -> None:
    """Print each step of ``plan`` with the SQL it would run (or the same as JSON); nothing is executed."""
    steps = [{"app": m.app_label, "name": m.name, "sql": step_sql(loader, m, backwards=backwards)} for m, _ in plan]
    if as_json:
        command.stdout.write(json.dumps({"dry_run": True, "plan": steps}, indent=2))
        return
    if not steps:
        command.stdout.write("Nothing to unapply." if backwards else "No pending migrations.")
        return
    verb, done = ("Unapply", "unapplied") if backwards else ("Apply", "applied")
    command.stdout.write(f"Dry run: {len(steps)} migration(s) would be {done}, in this order. Nothing was changed.")
    for step in steps:
        command.stdout.write(command.style.MIGRATE_HEADING(f"{verb} {step['app']}.{step['name']}"))
        for statement in step["sql"]:
            command.stdout.write(f"    {statement}")

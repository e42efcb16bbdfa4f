"""``manage.py seed_demo``: a thin shell around ``demo.services.seed_demo``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from auditing.commands import add_as_user_argument, audit_context_from_options
from demo.services import (
    DEFAULT_SEED,
    MAX_DEMO_STUDENTS,
    DemoSeedRefused,
    demo_data_present,
    demo_views_refresh,
    seed_demo,
)
from growthcompass.command_arguments import bounded_int


class _ProgressStream:
    """Lets tqdm draw on the command's stderr.

    ``OutputWrapper.write`` appends a newline and the error style to every
    write, which would turn each carriage-return redraw into a new red line.
    """

    def __init__(self, out: OutputWrapper) -> None:
        self._out = out

    def write(self, text: str) -> int:
        self._out.write(text, style_func=lambda message: message, ending="")
        return len(text)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return self._out.isatty()


class Command(BaseCommand):
    help = (
        "Fill the database with a reproducible demo school (students, guardians, terms, courses, "
        "enrolments, lessons, attendance, feedback). Refuses in production, and refuses when data "
        "exists unless --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--students",
            type=bounded_int(1, MAX_DEMO_STUDENTS),
            default=10_000,
            help=f"How many students (default 10000, at most {MAX_DEMO_STUDENTS}).",
        )
        parser.add_argument(
            "--seed",
            type=bounded_int(0, 2**32 - 1),
            default=DEFAULT_SEED,
            help=f"Random seed; same seed, same data (default {DEFAULT_SEED}).",
        )
        # --if-empty never replaces data and --reset always does: together they say nothing.
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--reset",
            action="store_true",
            help="First empty the domain tables and delete student-*/teacher-* users (same transaction).",
        )
        when.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into an empty database; when data exists, say so and exit 0 (for start-up scripts).",
        )
        parser.add_argument(
            "--no-refresh",
            action="store_true",
            help="Leave the materialized views as they are (by default they are refreshed after the load).",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        add_as_user_argument(parser)

    def handle(self, **options: Any) -> None:
        students = options["students"]
        if not 1 <= students <= MAX_DEMO_STUDENTS:
            # call_command(students=0) skips the argparse type check.
            raise CommandError(f"--students must be at least 1 and at most {MAX_DEMO_STUDENTS}; got {students}")
        if options["if_empty"] and options["reset"]:
            raise CommandError("--reset and --if-empty cannot be combined: --if-empty never replaces data.")
        if options["if_empty"] and not options["reset"] and demo_data_present():
            self.stdout.write("Demo data already present; nothing loaded (use --reset to reload).")
            return
        try:
            with audit_context_from_options(options, command="seed_demo", reason="demo data"):
                result = seed_demo(
                    students=students,
                    seed=options["seed"],
                    reset=options["reset"],
                    progress=True,
                    progress_stream=_ProgressStream(self.stderr),
                )
                # In the command's scope too: refreshing reads every row (a staff or system scope).
                refreshed = {} if options["no_refresh"] else demo_views_refresh()
        except DemoSeedRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({**result.as_dict(), "views_refreshed": refreshed}))
        else:
            self.stdout.write(result.summary())
            for view, rows in refreshed.items():
                self.stdout.write(f"Refreshed {view}: {rows} rows.")

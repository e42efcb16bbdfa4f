#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import os
import sys

# Commands that report on the servers find them as they are: for every other command the
# settings start the embedded development servers when no URL is set (growthcompass.devservers).
REPORTING_COMMANDS = frozenset({"healthcheck"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growthcompass.settings")
    if len(sys.argv) > 1 and sys.argv[1] in REPORTING_COMMANDS:
        os.environ.setdefault("DEVSERVERS_AUTOSTART", "0")
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        # A database that is down, unknown or refusing connections is not a bug of the command:
        # one line and a non-zero exit, as for bad input (--traceback shows the whole story).
        if "--traceback" in sys.argv:
            raise
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        sys.stderr.write(f"CommandError: the database is unavailable: {first_line}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()

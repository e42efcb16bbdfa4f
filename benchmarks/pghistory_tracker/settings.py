"""Settings of the audit benchmark's django-pghistory child process only.

The project's settings plus django-pghistory and the benchmark app holding its
event model. Never used by the application, its tests or its migrations: the
``pghistory`` package is installed from ``requirements-bench.txt``.
"""

from __future__ import annotations

from growthcompass.settings import *  # noqa: F403
from growthcompass.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "pghistory", "benchmarks.pghistory_tracker"]
# The event table is created and dropped by the benchmark (schema_editor), not migrated.
MIGRATION_MODULES = {"pghistory_tracker": None}

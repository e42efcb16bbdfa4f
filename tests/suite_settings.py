"""The test suite's settings: the project's own, plus a throwaway app that proves the registries work."""

from __future__ import annotations

from growthcompass.settings import *  # noqa: F403
from growthcompass.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.registry_app"]

# The suite's older tests read and write with no user context: they run in a system scope of
# row-level security. The row-level-security tests (tests/rls) set it back to None, as in an application.
RLS_FALLBACK_CONTEXT = "system"

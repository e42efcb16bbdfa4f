"""The test suite's settings: the project's own, plus a throwaway app that proves the registries work."""

from __future__ import annotations

from growthcompass.settings import *  # noqa: F403
from growthcompass.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.registry_app"]

"""Settings of the benchmark's django-cachalot process only: the project's settings plus cachalot.

django-cachalot is installed from ``requirements-bench.txt`` and never in the
project's own settings; ``bench_querysets`` runs ``benchmarks.cachalot_probe``
in a process of its own with ``DJANGO_SETTINGS_MODULE`` pointing here.
"""

from __future__ import annotations

from growthcompass.settings import *  # noqa: F403
from growthcompass.settings import CACHES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "cachalot"]
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"{CACHES['default']['KEY_PREFIX']}-bench-cachalot"}}
CACHALOT_ENABLED = True
CACHALOT_TIMEOUT = 300
CACHE_LISTENER_IN_PROCESS = False

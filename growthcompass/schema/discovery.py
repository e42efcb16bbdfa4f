"""Which apps are the project's own, and where their migration files live.

"A project migration" is a migration of an app whose code is not installed from
a distribution: Django's contrib apps and third-party packages (anything under
a site-packages or the standard library) are excluded, so a Django upgrade that
reformats contrib migrations never reads as an edited applied migration.
"""

from __future__ import annotations

import functools
import importlib
import site
import sys
import sysconfig
from pathlib import Path

from django.apps import AppConfig, apps
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader

_LIBRARY_DIR_NAMES = frozenset({"site-packages", "dist-packages"})


@functools.cache
def _library_roots() -> tuple[Path, ...]:
    roots: set[Path] = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            roots.add(Path(paths[key]).resolve())
    for path in [*site.getsitepackages(), site.getusersitepackages()]:
        roots.add(Path(path).resolve())
    return tuple(roots)


def is_project_app(app_config: AppConfig) -> bool:
    """True when ``app_config`` is the project's code rather than an installed library."""
    path = Path(app_config.path).resolve()
    if _LIBRARY_DIR_NAMES & set(path.parts):
        return False
    return not any(path.is_relative_to(root) for root in _library_roots())


def project_app_labels() -> set[str]:
    """Labels of the installed project apps (with or without migrations)."""
    return {config.label for config in apps.get_app_configs() if is_project_app(config)}


def migrations_package_dir(app_label: str) -> Path | None:
    """The directory of ``app_label``'s migrations package, or None when it has none."""
    module_name, _ = MigrationLoader.migrations_module(app_label)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    module_paths = list(getattr(module, "__path__", []))
    return Path(module_paths[0]) if module_paths else None


def migration_file(migration: Migration) -> Path | None:
    """The source file ``migration`` was loaded from, or None if it is gone from disk."""
    module = sys.modules.get(type(migration).__module__)
    file_name = getattr(module, "__file__", None)
    if file_name:
        path = Path(file_name)
        return path if path.exists() else None
    return expected_migration_file(migration.app_label, migration.name)


def expected_migration_file(app_label: str, name: str) -> Path | None:
    """Where the file of migration ``name`` of ``app_label`` lives, if it exists."""
    try:
        apps.get_app_config(app_label)
    except LookupError:
        return None
    directory = migrations_package_dir(app_label)
    if directory is None:
        return None
    path = directory / f"{name}.py"
    return path if path.exists() else None

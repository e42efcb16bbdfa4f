"""The benchmark database, Django set-up, the seeded dataset and the machine it all runs on.

Benchmarks work on their own database, ``<name>_bench`` beside the configured
one (``growthcompass_bench`` on the embedded server), so a benchmark's reset
never touches development data, and under their own cache key prefix.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SCALES = {"small": 1_000, "default": 10_000, "large": 100_000}
SEED = 42


def point_at_bench_database(*, fresh: bool = False) -> str:
    """Set ``DATABASE_URL`` to ``<dbname>_bench`` on the configured (or embedded) server, creating it if needed.

    ``fresh`` drops and recreates it first: the append-only ``audit_log`` keeps
    every earlier run's rows (a reset cannot truncate it), and a log grown by
    millions of rows makes the audit figures drift from run to run.
    """
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    url = os.environ.get("DATABASE_URL")
    if not url:
        from growthcompass.devservers import ensure_postgres

        url = ensure_postgres(REPO_ROOT, dbname="growthcompass_bench")
    else:
        url = bench_database_url(url)
    # With an owner URL (row-level security: the application role owns nothing and creates no
    # database), the owner creates the bench database and migrates it.
    owner_url = os.environ.get("MIGRATION_DATABASE_URL")
    admin_url = bench_database_url(owner_url) if owner_url else url
    if owner_url:
        os.environ["MIGRATION_DATABASE_URL"] = admin_url
    if fresh:
        drop_database(admin_url)
    create_database_if_missing(admin_url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growthcompass.settings")
    os.environ.setdefault("CACHE_KEY_PREFIX", "gc-bench")
    # No invalidation listener thread competing with what is measured (on by default in
    # development); the cache benchmark runs the listener it measures itself.
    os.environ.setdefault("CACHE_LISTENER_IN_PROCESS", "0")
    return url


def bench_database_url(url: str) -> str:
    """``postgres://…/gc`` -> ``postgres://…/gc_bench``, query string kept.

    Always appended, even to a name already ending in ``_bench``: the database
    that was configured is never the one a benchmark resets.
    """
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))


def _maintenance(url: str) -> tuple[str, str]:
    """The database name in ``url``, and a URL to the same server's ``postgres`` database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return parts.path.lstrip("/"), urlunsplit(parts._replace(path="/postgres"))


def create_database_if_missing(url: str) -> None:
    import psycopg
    from psycopg import sql

    name, admin_url = _maintenance(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    """Drop the bench database (never the configured one: see ``bench_database_url``)."""
    import psycopg
    from psycopg import sql

    name, admin_url = _maintenance(url)
    if not name.endswith("_bench"):
        raise ValueError(f"refusing to drop {name!r}: only a *_bench database is the benchmarks' own")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def setup_django() -> None:
    """``django.setup()`` and ``migrate`` on the bench database (call ``point_at_bench_database`` first)."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # The benchmarks measure the features, each in the scope that sees every row (threads included),
    # as the test suite's older tests do; bench_rls declares its scopes itself.
    settings.RLS_FALLBACK_CONTEXT = "system"

    call_command("migrate", verbosity=0, interactive=False)


@dataclass(frozen=True)
class Dataset:
    """What the benchmarks run against: students, rows per table, and how long seeding took (None: reused)."""

    students: int
    counts: dict[str, int]
    seed_seconds: float | None

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "students": self.students,
            "counts": self.counts,
            "total_rows": self.total_rows,
            "seconds": None if self.seed_seconds is None else round(self.seed_seconds, 1),
        }


_last_seeded: list[Dataset] = []


def seed_dataset(students: int) -> Dataset:
    """Reset the bench database's domain tables and seed ``students`` with ``seed_demo``."""
    from demo.services import seed_demo
    from growthcompass.rls import rls_system_context

    started = time.perf_counter()
    # Maintenance: a declared system scope (row-level security), as the seed_demo command has.
    with rls_system_context(reason="benchmark dataset"):
        seeded = seed_demo(students=students, seed=SEED, reset=True, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - started
    print(f"dataset: {students:,} students, {seeded.total_rows:,} rows seeded in {seconds:.1f} s", file=sys.stderr)
    data = Dataset(students=students, counts=dict(seeded.counts), seed_seconds=seconds)
    _last_seeded[:] = [data]
    return data


def last_seeded() -> Dataset | None:
    """The dataset this process seeded last, so ``bench_seed`` can report the full-scale seed it timed."""
    return _last_seeded[0] if _last_seeded else None


def ensure_dataset(students: int, *, reseed: bool = False) -> Dataset:
    """Seed unless the bench database already holds exactly ``students`` students (a standalone run's shortcut)."""
    from students.models import Student

    if reseed or Student.objects.count() != students:
        return seed_dataset(students)
    return Dataset(students=students, counts=table_counts(), seed_seconds=None)


def table_counts() -> dict[str, int]:
    """Row counts of the seeded tables, exact (a few hundred ms at the default scale)."""
    from django.db import connection

    from demo.loader import LOAD_ORDER

    counts = {}
    with connection.cursor() as cursor:
        for table in LOAD_ORDER:
            cursor.execute(f'SELECT count(*) FROM "{table.name}"')  # noqa: S608 - fixed table names
            counts[table.name] = int(cursor.fetchone()[0])
    return counts


def machine() -> dict[str, Any]:
    """The machine and servers a run measured: OS, CPUs, RAM, Python, PostgreSQL and Redis versions."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = str(cursor.fetchone()[0]).split()[0]
    return {
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gb": _ram_gb(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "postgresql_host": connection.settings_dict.get("HOST") or "local socket",
        "redis": _redis_version(),
    }


def machine_description(info: dict[str, Any] | None = None) -> str:
    """One line: "Linux x86_64, 2 CPUs (AMD EPYC), 23 GB RAM, Python 3.11.7, PostgreSQL 15.20, Redis 7.0.15"."""
    info = info or machine()
    cpu = f"{info['cpus']} CPUs" + (f" ({info['cpu_model']})" if info.get("cpu_model") else "")
    ram = f", {info['ram_gb']:.0f} GB RAM" if info.get("ram_gb") else ""
    return (
        f"{info['os']}, {cpu}{ram}, Python {info['python']}, PostgreSQL {info['postgresql']}, "
        f"Redis {info.get('redis') or 'unknown'}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _ram_gb() -> float | None:
    try:
        import psutil

        return float(psutil.virtual_memory().total) / 2**30
    except ImportError:
        return None


def _redis_version() -> str | None:
    try:
        from django_redis import get_redis_connection

        return str(get_redis_connection("default").info("server")["redis_version"])
    except Exception:  # a description, never a reason to fail the run
        return None

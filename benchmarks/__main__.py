"""``python -m benchmarks``: build a dataset, run every benchmark, print one table.

Each ``benchmarks/bench_*.py`` module exposes ``run(scale: str) -> list[Row]``
(rows from ``benchmarks.timing``; plain dicts with the same keys are accepted).
The runner works on its own database (``<name>_bench`` beside the configured
one) so the development data is never reset by a benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SCALES = {"small": 1_000, "default": 10_000, "large": 100_000}
README_START = "<!-- performance:start -->"
README_END = "<!-- performance:end -->"


def _point_at_bench_database() -> None:
    """Use ``<dbname>_bench`` on the configured (or embedded) server."""
    sys.path.insert(0, str(REPO_ROOT))
    url = os.environ.get("DATABASE_URL")
    if not url:
        from growthcompass.devservers import ensure_postgres

        url = ensure_postgres(REPO_ROOT, dbname="growthcompass_bench")
    else:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))
        _create_database_if_missing(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growthcompass.settings")
    os.environ.setdefault("CACHE_KEY_PREFIX", "gc-bench")


def _create_database_if_missing(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(BENCH_DIR)]) if m.name.startswith("bench_"))


def _as_dict(row: Any) -> dict[str, Any]:
    return row.as_dict() if hasattr(row, "as_dict") else dict(row)


def machine_description() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {pg_version}"
    )


def run_all(scale: str, only: list[str] | None, seed_students: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from growthcompass.demo import seed_demo

    started = time.perf_counter()
    seeded = seed_demo(students=seed_students, seed=42, reset=True, progress=sys.stderr.isatty())
    seed_seconds = time.perf_counter() - started
    print(f"dataset: {seed_students} students seeded in {seed_seconds:.1f} s", file=sys.stderr)

    rows: list[dict[str, Any]] = []
    for name in discover():
        if only and name.removeprefix("bench_") not in only and name not in only:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", file=sys.stderr)
        rows.extend(_as_dict(r) for r in module.run(scale))
    return {
        "scale": scale,
        "students": seed_students,
        "seeded": getattr(seeded, "counts", None),
        "machine": machine_description(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
    }


def format_rows(rows: list[dict[str, Any]]) -> str:
    from benchmarks.timing import Row, format_table

    fields = Row.__dataclass_fields__
    values: list[dict[str, Any]] = [{k: r.get(k) for k in fields} for r in rows]
    return format_table([Row(**v) for v in values])


def compare(old_path: Path, new_path: Path) -> str:
    old = {(r["benchmark"], r["operation"]): r for r in json.loads(old_path.read_text())["rows"]}
    new = json.loads(new_path.read_text())["rows"]
    lines = ["| benchmark | operation | old p50 ms | new p50 ms | change |", "| --- | --- | --- | --- | --- |"]
    for r in new:
        before = old.get((r["benchmark"], r["operation"]))
        if before is None or not before["p50_ms"]:
            change = "new"
        else:
            change = f"{(r['p50_ms'] / before['p50_ms'] - 1) * 100:+.1f}%"
        old_p50 = "" if before is None else f"{before['p50_ms']:.4f}"
        lines.append(f"| {r['benchmark']} | {r['operation']} | {old_p50} | {r['p50_ms']:.4f} | {change} |")
    return "\n".join(lines)


def update_readme(result: dict[str, Any], command: str) -> None:
    readme = REPO_ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise SystemExit(f"README.md lacks the {README_START} / {README_END} markers")
    body = (
        f"{README_START}\n"
        f"Generated by `{command}` on {result['finished_at']} ({result['machine']}; "
        f"{result['students']} students).\n\n{format_rows(result['rows'])}\n{README_END}"
    )
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(head + body + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument("--only", help="comma-separated benchmark names (e.g. cache,audit)")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results" / "latest.json")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="compare two result files")
    parser.add_argument("--update-readme", action="store_true", help="rewrite the README's performance section")
    args = parser.parse_args(argv)

    if args.compare:
        print(compare(*args.compare))
        return 0
    _point_at_bench_database()
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    result = run_all(args.scale, only, SCALES[args.scale])
    print(format_rows(result["rows"]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"\nwritten to {args.json}", file=sys.stderr)
    if args.update_readme:
        update_readme(result, "make bench")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m benchmarks`` (``make bench``): build a dataset, run every benchmark, print one table.

Each ``benchmarks/bench_*.py`` module exposes ``run(scale: str) -> list[Row]``
(``benchmarks.timing.Row``). The runner works on its own database
(``<name>_bench`` beside the configured one) so development data is never
reset by a benchmark; it recreates that database, seeds it with ``seed_demo`` at the
chosen scale, runs the modules in name order, prints the table, writes the
results as JSON (``benchmarks/results/latest.json`` unless ``--json``), and with
``--update-docs`` rewrites the generated section of ``docs/performance.md`` from them.

    python -m benchmarks [--scale small|default|large] [--only admin,query] [--update-docs]
    python -m benchmarks --compare OLD.json NEW.json
    python -m benchmarks --docs-from RESULTS.json   # re-render the docs section, no run
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import dataset, report
from benchmarks.timing import Row

BENCH_DIR = Path(__file__).resolve().parent
PERFORMANCE_DOC = dataset.REPO_ROOT / "docs" / "performance.md"
DOC_COMMAND = "make bench"


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(BENCH_DIR)]) if m.name.startswith("bench_"))


def selected(only: list[str] | None) -> list[str]:
    names = discover()
    if not only:
        return names
    unknown = [name for name in only if f"bench_{name.removeprefix('bench_')}" not in names]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(n[6:] for n in names)}")
    return [name for name in names if name.removeprefix("bench_") in only or name in only]


def run_all(scale: str, only: list[str] | None) -> dict[str, Any]:
    started = time.perf_counter()
    dataset.setup_django()
    data = dataset.seed_dataset(dataset.SCALES[scale])
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name in selected(only):
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", file=sys.stderr)
        module_started = time.perf_counter()
        rows.extend(module.run(scale))
        timings[name] = round(time.perf_counter() - module_started, 1)
        print(f"  {name}: {timings[name]:.0f} s", file=sys.stderr)
    info = dataset.machine()
    return {
        "scale": scale,
        "students": data.students,
        "dataset": data.as_dict(),
        "machine": dataset.machine_description(info),
        "machine_info": info,
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "duration_s": round(time.perf_counter() - started, 1),
        "module_seconds": timings,
        "rows": [r.as_dict() for r in rows],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="default")
    parser.add_argument("--only", help="comma-separated benchmark names (e.g. cache,audit)")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results" / "latest.json", help="results file")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="compare two results files")
    parser.add_argument(
        "--update-docs", action="store_true", help="rewrite the generated section of docs/performance.md"
    )
    parser.add_argument(
        "--docs-from", type=Path, metavar="RESULTS", help="rewrite that section from a results file, no run"
    )
    args = parser.parse_args(argv)

    if args.compare:
        print(report.compare_files(*args.compare))
        return 0
    if args.docs_from:
        report.update_doc(PERFORMANCE_DOC, json.loads(args.docs_from.read_text()), DOC_COMMAND)
        return 0
    dataset.point_at_bench_database(fresh=True)
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    result = run_all(args.scale, only)
    print(report.format_table(report.rows_of(result)))
    print(f"\n{report.summary_counts(result)}; {result['duration_s']:.0f} s in all", file=sys.stderr)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.json}", file=sys.stderr)
    if args.update_docs:
        if only:
            print(f"not updating {PERFORMANCE_DOC.name} from a partial run (--only)", file=sys.stderr)
        else:
            report.update_doc(PERFORMANCE_DOC, result, DOC_COMMAND)
            print(f"updated the performance section of {PERFORMANCE_DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

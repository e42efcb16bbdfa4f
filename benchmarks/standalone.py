"""Running one ``bench_*`` module by itself: ``python benchmarks/bench_x.py [--scale S] [--reseed]``.

The documented way is ``make bench`` (``python -m benchmarks``); this is the
shortcut while working on one benchmark. Unlike the runner it reuses the bench
database's dataset when it already has the scale's students. Each module ends
with::

    if __name__ == "__main__":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from benchmarks.standalone import main

        raise SystemExit(main(run, __doc__))
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from benchmarks import dataset
from benchmarks.report import format_table
from benchmarks.timing import Row


def main(run: Callable[[str], list[Row]], doc: str | None, *, needs_dataset: bool = True) -> int:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="small")
    parser.add_argument("--reseed", action="store_true", help="seed the demo data even if the students are there")
    args = parser.parse_args()
    dataset.point_at_bench_database()
    dataset.setup_django()
    if needs_dataset:
        data = dataset.ensure_dataset(dataset.SCALES[args.scale], reseed=args.reseed)
        print(f"{data.students:,} students, {data.total_rows:,} rows", file=sys.stderr)
    started = time.perf_counter()
    rows = run(args.scale)
    print(f"{dataset.machine_description()}; benchmark {time.perf_counter() - started:.1f} s")
    print(format_table(rows))
    return 0

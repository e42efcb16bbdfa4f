"""Cached querysets side by side with django-cachalot, on the same querysets and the same data.

Rows (every baseline measured in the same run):

* a raw redis-py ``GET`` of our entry's bytes -- the floor;
* a hit of a ``declare``d query (no SQL compiled; target: within 1.3x of the
  raw GET, and no slower than cachalot's hit), and of ``cached(queryset)``,
  which compiles the queryset's SQL on every call to find its key;
* django-cachalot's hit on the same queryset (in its own process,
  ``benchmarks.cachalot_probe``), beside a raw GET of its entry's size there;
* a miss (load, guarded fill) for both, beside the uncached ORM read;
* a Zipf read mix with 1% writes, half ORM ``update()``, half raw SQL from
  another process (``benchmarks.queryset_mix``): hit rate and stale reads per
  1,000 reads for both (target: zero for ours; cachalot's count printed
  beside).

    python benchmarks/bench_querysets.py [--scale small|default] [--reseed]
    python -m benchmarks --only querysets --scale small

django-cachalot comes from ``requirements-bench.txt``; without it the
cachalot rows say so and are left unjudged.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.timing import Row

NAME = "querysets"
RUNS = {"small": 3_000, "default": 5_000, "large": 5_000}
GRADE = 7


def _cachalot(scale: str) -> dict[str, Any] | None:
    if importlib.util.find_spec("cachalot") is None:
        return None
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.cachalot_settings"}
    done = subprocess.run(  # noqa: S603 - this interpreter, a module of ours
        [sys.executable, "-m", "benchmarks.cachalot_probe", scale, str(GRADE)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(scale: str) -> list[Row]:
    from django.conf import settings
    from django.test.utils import override_settings

    from benchmarks.queryset_mix import run_mix
    from benchmarks.timing import Row, Sample, interleaved, measure, row
    from growthcompass.cache import get_store
    from growthcompass.cache.config import caches_from_url
    from growthcompass.cache.listener import InvalidationListener
    from growthcompass.cache.querysets import cached, declare
    from students.models import Student

    runs = RUNS[scale]
    prefix = f"{settings.CACHES['default']['KEY_PREFIX']}-bench-querysets"
    rows: list[Row] = []

    def grade_queryset(grade: int) -> Any:
        return Student.objects.filter(grade_level=grade).order_by("pk").values_list("pk", "student_number")[:20]

    by_grade = declare("bench_students_by_grade", grade_queryset, ttl=300)
    version_of = declare(
        "bench_leaving_reason", lambda pk: Student.objects.filter(pk=pk).values_list("leaving_reason", flat=True)
    )

    with override_settings(CACHES=caches_from_url(settings.REDIS_URL, key_prefix=prefix)):
        store = get_store()
        client = store.client
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.unlink(*keys)
        listener = InvalidationListener()
        thread = threading.Thread(target=listener.run, daemon=True)
        thread.start()
        assert listener.ready.wait(10), "the invalidation listener did not connect"
        try:
            assert by_grade(grade=GRADE), "no students in the benchmark's grade"
            (entry_key,) = [k for k in client.scan_iter(match=prefix + "*qs:*")]
            raw_key = prefix + ":bench:raw"
            entry = client.get(entry_key)
            assert isinstance(entry, bytes)
            client.set(raw_key, entry)
            entry_bytes = client.strlen(raw_key)
            hits = interleaved(
                {
                    "raw": lambda: client.get(raw_key),
                    "declared": lambda: by_grade(grade=GRADE),
                    "cached": lambda: cached(grade_queryset(GRADE)),
                    "orm": lambda: list(grade_queryset(GRADE)),
                },
                runs=runs,
                block=50,
            )

            def miss() -> Any:
                client.unlink(entry_key)
                return by_grade(grade=GRADE)

            miss_sample = measure(miss, runs=300, warmup=20)
            ids = list(Student.objects.order_by("pk").values_list("pk", flat=True))
            mix = run_mix(lambda pk: version_of(pk=pk)[0], ids, scale)
        finally:
            listener.stop()
            thread.join(5)

    other = _cachalot(scale)
    cachalot_hit = Sample(**other["hit"]) if other else None
    rows.append(row(NAME, f"raw redis-py GET ({entry_bytes} bytes, our entry)", hits["raw"], target="baseline"))
    rows.append(
        row(NAME, "declared query hit", hits["declared"], baseline="raw GET", baseline_sample=hits["raw"],
            target="<= 1.3x raw GET", max_ratio=1.3)
    )  # fmt: skip
    if cachalot_hit is not None:
        rows.append(
            row(NAME, "declared query hit vs cachalot hit", hits["declared"], baseline="cachalot hit",
                baseline_sample=cachalot_hit, target="<= 1.0x cachalot hit", max_ratio=1.0)
        )  # fmt: skip
    rows.append(
        row(NAME, "cached(queryset) hit (SQL compiled per call)", hits["cached"], baseline="raw GET",
            baseline_sample=hits["raw"], target="<= 1.3x raw GET", max_ratio=1.3)
    )  # fmt: skip
    if other is not None and cachalot_hit is not None:
        rows.append(
            row(NAME, "cached(queryset) hit vs cachalot hit", hits["cached"], baseline="cachalot hit",
                baseline_sample=cachalot_hit, target="<= 1.0x cachalot hit", max_ratio=1.0)
        )  # fmt: skip
        rows.append(
            row(NAME, "cachalot hit (its own process)", cachalot_hit, baseline="raw GET there",
                baseline_sample=Sample(**other["raw"]), target="informative",
                note=f"raw GET of {other['entry_bytes']} bytes (its entry) there")
        )  # fmt: skip
    rows.append(
        row(NAME, "declared query miss (load + guarded fill)", miss_sample, baseline="uncached ORM read",
            baseline_sample=hits["orm"], target="informative")
    )  # fmt: skip
    if other is not None:
        rows.append(
            row(NAME, "cachalot miss (invalidate + load + store)", Sample(**other["miss"]),
                baseline="uncached ORM read", baseline_sample=hits["orm"], target="informative")
        )  # fmt: skip
    ours = (
        f"hit rate {mix.hit_rate:.1%}, stale {mix.stale} ({mix.per_1000(mix.stale):.2f}/1000; "
        f"{mix.stale_late} began > 5 ms after the commit), writes {mix.writes_orm} ORM + {mix.writes_external} external"
    )
    rows.append(
        Row(NAME, "Zipf mix, 1% writes (half external): ours, read p50", mix.read_p50_ms, mix.read_p50_ms,
            "", None, None, "0 stale reads", mix.stale == 0, note=ours)
    )  # fmt: skip
    if other is not None:
        theirs = other["mix"]
        per_1000 = 1000 * theirs["stale"] / theirs["reads"]
        hit_rate = 1 - theirs["misses"] / theirs["reads"]
        note = (
            f"hit rate {hit_rate:.1%}, stale {theirs['stale']} ({per_1000:.2f}/1000; {theirs['stale_late']} began"
            f" > 5 ms after the commit), writes {theirs['writes_orm']} ORM + {theirs['writes_external']} external"
        )
        rows.append(
            Row(NAME, "Zipf mix, 1% writes (half external): cachalot, read p50", theirs["read_p50_ms"],
                theirs["read_p50_ms"], "", None, None, "printed beside ours", None, note=note)
        )  # fmt: skip
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))

"""django-cachalot on the benchmark's querysets, in a process of its own (``benchmarks.cachalot_settings``).

Prints one JSON object: hit and miss latency of the benchmark's queryset, a
raw redis-py ``GET`` of the same number of bytes as its entry, and the mix
(``benchmarks.queryset_mix``).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(scale: str, grade: int) -> int:
    import django

    django.setup()
    from cachalot.api import invalidate
    from django.core.cache import cache
    from django_redis import get_redis_connection

    from benchmarks.queryset_mix import run_mix
    from benchmarks.timing import interleaved, measure
    from students.models import Student

    cache.clear()

    def grade_rows() -> list[Any]:
        return list(Student.objects.filter(grade_level=grade).order_by("pk").values_list("pk", "student_number")[:20])

    grade_rows()
    client = get_redis_connection("default")
    biggest = max((client.strlen(k) for k in client.scan_iter(match="*bench-cachalot*")), default=0)
    client.set("bench-cachalot-raw", b"x" * biggest)
    hits = interleaved({"hit": grade_rows, "raw": lambda: client.get("bench-cachalot-raw")}, runs=3000, block=50)

    def miss() -> list[Any]:
        invalidate("students")
        return grade_rows()

    misses = measure(miss, runs=300, warmup=20)
    ids = list(Student.objects.order_by("pk").values_list("pk", flat=True))
    mix = run_mix(lambda pk: Student.objects.filter(pk=pk).values_list("leaving_reason", flat=True)[0], ids, scale)
    print(
        json.dumps(
            {
                "hit": hits["hit"].__dict__,
                "raw": hits["raw"].__dict__,
                "entry_bytes": biggest,
                "miss": misses.__dict__,
                "mix": mix.as_dict(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], int(sys.argv[2])))

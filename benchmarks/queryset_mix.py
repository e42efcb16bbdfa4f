"""The read/write mix ``bench_querysets`` runs on our cache and on django-cachalot alike.

Zipf-skewed reads of one student's ``leaving_reason`` (which the writes set
to an increasing version), with 1% writes: half ``queryset.update()`` in the
reading process, half raw SQL sent by another process (``queryset_writer``,
plain psycopg: the write path cachalot cannot see). A write counts as
committed when the writing call has returned; each read notes the version
committed for its student when it began and is *stale* if it returns an older
one. Reads that ran a query (counted by an execute wrapper) are the misses.
Both caches run the same picks (same seed) on the same data.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

ZIPF_S = 1.1
WRITE_SHARE = 0.01
SEED = 42
READS = {"small": 20_000, "default": 50_000, "large": 100_000}
# A read that began this long after the commit is stale beyond any listener's latency.
LATE_MS = 5.0


@dataclass(frozen=True)
class MixResult:
    reads: int
    misses: int
    writes_orm: int
    writes_external: int
    stale: int
    stale_late: int
    read_p50_ms: float

    @property
    def hit_rate(self) -> float:
        return 1 - self.misses / self.reads if self.reads else 0.0

    def per_1000(self, count: int) -> float:
        return 1000 * count / self.reads if self.reads else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExternalWriter:
    """Another process that runs ``UPDATE students SET leaving_reason = ...`` on its own connection."""

    def __init__(self, conninfo: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, a module of ours
            [sys.executable, "-m", "benchmarks.queryset_writer", conninfo],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def write(self, student_id: int, version: int) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{student_id} {version}\n")
        self.process.stdin.flush()
        if self.process.stdout.readline().strip() != "ok":
            raise RuntimeError("the external writer failed")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


def conninfo() -> str:
    from django.db import connection
    from psycopg.conninfo import make_conninfo

    params = {k: v for k, v in connection.get_connection_params().items() if isinstance(v, str | int)}
    params.pop("prepare_threshold", None)
    return make_conninfo("", **params)


def run_mix(read: Callable[[int], str], ids: list[int], scale: str) -> MixResult:
    """Run the mix with ``read(student_id) -> leaving_reason`` as the cached read."""
    from django.db import connection

    from students.models import Student

    rng = random.Random(SEED)
    Student.objects.filter(pk__in=ids).update(leaving_reason="0")
    order = ids[:]
    rng.shuffle(order)  # popularity is unrelated to id
    weights = list(itertools.accumulate(1 / (rank**ZIPF_S) for rank in range(1, len(order) + 1)))
    picks = rng.choices(order, cum_weights=weights, k=READS[scale])
    committed: dict[int, tuple[int, float]] = {}
    queries = 0

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        if sql.lstrip()[:6].upper() == "SELECT":
            queries += 1
        return execute(sql, params, many, context)

    writer = ExternalWriter(conninfo())
    version = 0
    reads = misses = stale = stale_late = writes_orm = writes_external = 0
    timings: list[float] = []
    try:
        with connection.execute_wrapper(count):
            for student_id in picks:
                if rng.random() < WRITE_SHARE:
                    version += 1
                    if version % 2:
                        Student.objects.filter(pk=student_id).update(leaving_reason=str(version))
                        writes_orm += 1
                    else:
                        writer.write(student_id, version)
                        writes_external += 1
                    committed[student_id] = (version, time.perf_counter())
                    continue
                floor, at = committed.get(student_id, (0, 0.0))
                before = queries
                started = time.perf_counter()
                seen = int(read(student_id))
                timings.append((time.perf_counter() - started) * 1000)
                reads += 1
                misses += queries > before
                if seen < floor:
                    stale += 1
                    stale_late += (started - at) * 1000 > LATE_MS
    finally:
        writer.close()
    timings.sort()
    return MixResult(
        reads, misses, writes_orm, writes_external, stale, stale_late, timings[len(timings) // 2] if timings else 0.0
    )


def dumps(result: MixResult) -> str:
    return json.dumps(result.as_dict())

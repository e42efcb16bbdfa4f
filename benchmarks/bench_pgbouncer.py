"""PgBouncer's overhead: a point read and a single-row write, direct versus through a transaction-pooling PgBouncer.

Both paths go to the same bench database in the same run, interleaved call by
call: ``default`` connects to PostgreSQL itself, ``bounced`` to a loopback
PgBouncer (Debian's ``pgbouncer``, ``pool_mode = transaction``, 20 server
connections) in front of it, configured as ``DATABASE_POOLER=pgbouncer`` would
(no startup options; ``statement_timeout`` sent with each transaction). The
ratio is the pooler's cost per statement on one machine: an extra loopback hop
and the per-transaction ``set_config``. It buys what one process cannot: many
application processes sharing a few server connections. Informational rows, no
target.

    python benchmarks/bench_pgbouncer.py [--scale small|default|large]   # or: python -m benchmarks --only pgbouncer

Without ``pgbouncer`` installed (``make pgbouncer-deps``) the module prints why
and returns no rows.
"""

from __future__ import annotations

import copy
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.timing import Row

RUNS = {"small": 400, "default": 600, "large": 600}
SEED = 17
NAME = "pgbouncer"
ALIAS = "bounced"


def _upstream_url() -> str:
    from urllib.parse import quote

    from django.db import connections

    settings_dict = connections["default"].settings_dict
    host = quote(settings_dict["HOST"] or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    password = f":{quote(settings_dict['PASSWORD'], safe='')}" if settings_dict["PASSWORD"] else ""
    user = quote(settings_dict["USER"] or "postgres", safe="")
    return f"postgres://{user}{password}@{host}{port}/{settings_dict['NAME']}"


def run(scale: str) -> list[Row]:
    from django.db import connections
    from django.test.utils import override_settings

    from benchmarks.timing import paired, row
    from growthcompass.db.config import database_from_url
    from growthcompass.db.pooler import behind_pooler
    from growthcompass.devservers.pgbouncer import INSTALL_HINT, LocalPgBouncer, pgbouncer_binary
    from students.models import Student

    if pgbouncer_binary() is None:
        print(f"  {NAME}: skipped, {INSTALL_HINT}", file=sys.stderr)
        return []
    runs = RUNS.get(scale, RUNS["default"])
    rng = random.Random(SEED)
    ids = list(Student.objects.values_list("pk", flat=True)[:5000])
    upstream = _upstream_url()
    rows: list[Row] = []
    with LocalPgBouncer(upstream, pool_size=20) as bouncer:
        entry = behind_pooler(
            database_from_url(bouncer.url(), pool_min_size=1, pool_max_size=2),
            pooler="pgbouncer",
            direct=database_from_url(upstream),
        )
        connections.settings[ALIAS] = connections.configure_settings(
            {"default": connections.settings["default"], ALIAS: copy.deepcopy(entry)}
        )[ALIAS]
        try:
            with override_settings(DEBUG=False, SLOW_QUERY_MS=60_000):

                def read_on(alias: str) -> None:
                    found = Student.objects.using(alias).filter(pk=ids[rng.randrange(len(ids))])
                    assert found.values_list("grade_level", flat=True).first() is not None

                bounced, direct = paired(lambda: read_on(ALIAS), lambda: read_on("default"), runs=runs)
                rows.append(
                    row(
                        NAME,
                        "point read: one student by primary key",
                        bounced,
                        baseline="direct to PostgreSQL",
                        baseline_sample=direct,
                        target="informational",
                        note="through PgBouncer (transaction mode) vs direct, same run",
                    )
                )

                counter = iter(range(10**9))

                def write_on(alias: str) -> None:
                    Student.objects.using(alias).filter(pk=ids[rng.randrange(len(ids))]).update(
                        leaving_reason=f"bench-{next(counter)}"
                    )

                bounced, direct = paired(lambda: write_on(ALIAS), lambda: write_on("default"), runs=runs)
                rows.append(
                    row(
                        NAME,
                        "single-row write: UPDATE one student (audited, autocommit)",
                        bounced,
                        baseline="direct to PostgreSQL",
                        baseline_sample=direct,
                        target="informational",
                        note="through PgBouncer (transaction mode) vs direct, same run",
                    )
                )
        finally:
            connection = connections[ALIAS]
            connection.close()
            connection.close_pool()  # type: ignore[attr-defined]
            del connections[ALIAS]
            connections.settings.pop(ALIAS, None)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))

"""The Prometheus exporter's own cost: per query, per JSON API request, per scrape; the series a traffic mix makes.

Rows (every baseline is measured in the same run):

* the query instrument alone, around an execute that does nothing, with a
  point read's SQL (target: at most 20 µs per query), in this process's
  single-process mode and, in a child process, in multiprocess mode
  (``PROMETHEUS_MULTIPROC_DIR``: each update is written to a shared file);
* an uncached point read (ORM) with the instrument on against off;
* a JSON API request (``GET /api/students/?limit=20``) with the middleware
  and the instrument on against both off (target: at most 3% slower);
* one scrape of ``/metrics`` after a traffic mix over every route (every
  admin page of every registered model, every API table, unknown paths), with
  the number of series it holds (informational; the bound is what matters).

    python benchmarks/bench_metrics_export.py [--scale small|default|large]   # or: make bench
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.test import Client

    from benchmarks.timing import Row

NAME = "metrics_export"
RUNS = {"small": 300, "default": 400, "large": 400}
STAFF_USERNAME = "bench-metrics-export"
QUERY_TARGET_MS = 0.020
REQUEST_MAX_RATIO = 1.03
UNKNOWN_PATHS = 200


def _staff_client(**overrides: Any) -> Client:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import override_settings

    staff, _ = User.objects.update_or_create(
        username=STAFF_USERNAME, defaults={"is_staff": True, "is_superuser": True, "is_active": True}
    )
    # The middleware reads METRICS_ENABLED when the client's handler is built, on its first request.
    client = Client()
    client.force_login(staff)
    with override_settings(**overrides):
        assert client.get("/api/").status_code == 200
    return client


def _wrapper_cost(template: str) -> tuple[float, float]:
    """``(noop ms, noop through the instrument ms)`` per call, in this process."""
    from django.db import connections

    from benchmarks.timing import batched
    from growthcompass.metrics.queries import instrument

    context = {"connection": connections["default"], "cursor": None}

    def noop(sql: Any, params: Any, many: bool, ctx: Any) -> None:
        return None

    bare = batched(lambda: noop(template, (1,), False, context), batch=2000, samples=100)
    wrapped = batched(lambda: instrument(noop, template, (1,), False, context), batch=2000, samples=100)
    return bare.p50_ms, wrapped.p50_ms


_CHILD = """
import json, os, sys
sys.path.insert(0, os.getcwd())
from benchmarks import dataset
dataset.setup_django()
from benchmarks.bench_metrics_export import _wrapper_cost
print(json.dumps(_wrapper_cost(sys.argv[1])))
"""


def _multiprocess_wrapper_cost(template: str) -> tuple[float, float]:
    """The same in a child process in prometheus_client's multiprocess mode (the mode is fixed at import)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="gc-bench-multiproc-") as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory, "LOG_LEVEL": "WARNING"}
        result = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", _CHILD, template], env=env, cwd=root, capture_output=True, text=True, timeout=600
        )
    if result.returncode != 0:
        raise RuntimeError(f"multiprocess child failed: {result.stderr[-2000:]}")
    bare, wrapped = json.loads(result.stdout.strip().splitlines()[-1])
    return float(bare), float(wrapped)


def _traffic_urls() -> list[str]:
    """Every admin page of every registered model (list, add, one change page), every API table, the index."""
    from django.contrib import admin
    from django.urls import NoReverseMatch, reverse

    from growthcompass.db.tables import exposed_tables

    urls = ["/api/", "/admin/", "/metrics"]
    urls += [f"/api/{table}/?limit=5" for table in exposed_tables()]
    for model, _ in admin.site._registry.items():
        opts = model._meta
        for view in ("changelist", "add"):
            try:
                urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}"))
            except NoReverseMatch:
                continue
        first = model._default_manager.order_by().values_list("pk", flat=True).first()
        if first is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first]))
    return urls


def _series_count(body: bytes) -> int:
    return sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))


def run(scale: str) -> list[Row]:
    from django.db import connections
    from django.test.utils import override_settings

    from benchmarks.timing import interleaved, measure, row, summarise
    from growthcompass.metrics import queries
    from growthcompass.metrics.exposition import render
    from students.models import Student

    runs = RUNS.get(scale, RUNS["default"])
    rows: list[Row] = []
    with override_settings(DEBUG=False, SLOW_QUERY_MS=60_000):
        ids = list(Student.objects.values_list("pk", flat=True)[:5000])
        rng = random.Random(7)
        picks = [rng.choice(ids) for _ in range(4096)]
        position = [0]

        def next_id() -> int:
            position[0] = (position[0] + 1) % len(picks)
            return picks[position[0]]

        template = str(Student.objects.filter(pk=1).order_by().query.sql_with_params()[0])

        def point_read() -> None:
            # .filter().first() rather than a cached selector: every call is a query.
            assert Student.objects.filter(pk=next_id()).order_by().values_list("pk", flat=True).first()

        def read_on() -> None:
            if not queries.is_installed():
                queries.install()
            point_read()

        def read_off() -> None:
            if queries.is_installed():
                queries.uninstall()
            point_read()

        connections["default"].ensure_connection()
        reads = interleaved({"on": read_on, "off": read_off}, runs=runs)
        queries.install()

        bare, wrapped = _wrapper_cost(template)
        cost = summarise([max(0.0, wrapped - bare)])
        query_row = row(
            NAME,
            "query instrument: cost per query (single process)",
            cost,
            baseline="uncached point read (ORM, instrument off)",
            baseline_sample=reads["off"],
            target="<= 20 µs per query",
        )
        rows.append(dataclasses.replace(query_row, met=cost.p50_ms <= QUERY_TARGET_MS))
        mp_bare, mp_wrapped = _multiprocess_wrapper_cost(template)
        mp_cost = summarise([max(0.0, mp_wrapped - mp_bare)])
        mp_row = row(
            NAME,
            "query instrument: cost per query (multiprocess mode)",
            mp_cost,
            baseline="uncached point read (ORM, instrument off)",
            baseline_sample=reads["off"],
            target="<= 20 µs per query",
        )
        rows.append(dataclasses.replace(mp_row, met=mp_cost.p50_ms <= QUERY_TARGET_MS))
        rows.append(
            row(
                NAME,
                "uncached point read (ORM), instrument on",
                reads["on"],
                baseline="instrument off",
                baseline_sample=reads["off"],
                target="informational (noise ~ the overhead)",
            )
        )

        client_on = _staff_client()
        client_off = _staff_client(METRICS_ENABLED=False)
        api = "/api/students/?limit=20"

        def request_on() -> None:
            if not queries.is_installed():
                queries.install()
            assert client_on.get(api).status_code == 200

        def request_off() -> None:
            if queries.is_installed():
                queries.uninstall()
            assert client_off.get(api).status_code == 200

        requests = interleaved({"on": request_on, "off": request_off}, runs=runs)
        queries.install()
        rows.append(
            row(
                NAME,
                "JSON API request (/api/students/?limit=20), metrics on",
                requests["on"],
                baseline="metrics off",
                baseline_sample=requests["off"],
                target="<= 3% slower",
                max_ratio=REQUEST_MAX_RATIO,
            )
        )

        urls = _traffic_urls()
        for url in urls:
            client_on.get(url)
        for index in range(UNKNOWN_PATHS):
            client_on.get(f"/no-such-page/{index}/")
        body, _ = render()
        scrape = measure(lambda: render(), runs=max(20, runs // 10), warmup=3)
        rows.append(
            row(
                NAME,
                "one scrape of /metrics after a traffic mix over every route",
                scrape,
                baseline="JSON API request, metrics on",
                baseline_sample=requests["on"],
                target="informational",
                note=f"{_series_count(body)} series, {len(body) // 1024} KiB, after {len(urls)} routes' pages "
                f"and {UNKNOWN_PATHS} unknown paths",
            )
        )
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))

"""One worker process of the multiprocess test, in prometheus_client's multiprocess mode.

``python -m tests.metrics.multiprocess_worker serve N`` answers N requests and
runs N probe queries, then prints its pid; ``... scrape [PID ...]`` marks the
given workers dead and prints one scrape. ``PROMETHEUS_MULTIPROC_DIR``,
``DATABASE_URL`` (the test database) and ``REDIS_URL`` come from the test.
"""

from __future__ import annotations

import json
import os
import sys

import django

PROBE_SQL = "SELECT 1 AS metrics_multiprocess_probe"


def serve(count: int) -> None:
    from django.db import connection
    from django.test import Client

    client = Client()
    for _ in range(count):
        assert client.get("/api/").status_code == 401
        with connection.cursor() as cursor:
            cursor.execute(PROBE_SQL)
    # After a request the pool figures are copied at most once a second; copy them now.
    from growthcompass.metrics.process import sync_process_metrics

    sync_process_metrics(force=True)
    print(json.dumps({"pid": os.getpid()}))


def scrape(dead: list[int]) -> None:
    from growthcompass.metrics.exposition import render
    from growthcompass.metrics.multiprocess import mark_process_dead

    for pid in dead:
        mark_process_dead(pid)
    body, _ = render()
    sys.stdout.write(body.decode())


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growthcompass.settings")
    django.setup()
    if argv[0] == "serve":
        serve(int(argv[1]))
    else:
        scrape([int(pid) for pid in argv[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])

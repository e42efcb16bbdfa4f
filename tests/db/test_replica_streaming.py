"""Read replicas against a real PostgreSQL replica streaming from a real primary.

The pair is private (``tests.db.servers``): ``pair_primary`` and ``pair_replica``
aliases point at it and a router subclass routes between them, so the test
database's own transaction is not involved. A last test runs the real settings
in a subprocess with ``DATABASE_URL`` and ``REPLICA_DATABASE_URL``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import models, transaction
from django.db.models import Func
from django.test import override_settings

from courses.models import Term
from growthcompass.db.query import find_many
from growthcompass.db.router import PrimaryReplicaRouter, replica_health, reset_request_state, use_replica
from tests.db.aliases import alias_for_url
from tests.db.servers import StreamingPair

REPO_ROOT = Path(__file__).resolve().parents[2]


class PairRouter(PrimaryReplicaRouter):
    primary_alias = "pair_primary"
    replica_alias = "pair_replica"


PAIR_ROUTER = f"{__name__}.PairRouter"


def _in_recovery() -> bool:
    """``pg_is_in_recovery()`` of whichever server the router sends an ORM read of ``Term`` to."""
    value = (
        Term.objects.annotate(in_recovery=Func(function="pg_is_in_recovery", output_field=models.BooleanField()))
        .values_list("in_recovery", flat=True)
        .first()
    )
    assert value is not None, "the terms table is empty"
    return bool(value)


def _wait_for_replica(pair: StreamingPair, name: str) -> None:
    """Poll the replica directly until the row written on the primary has streamed over."""
    with psycopg.connect(pair.replica.conninfo(), autocommit=True) as conn:
        for _ in range(500):
            try:
                if conn.execute("SELECT 1 FROM terms WHERE name = %s", [name]).fetchone():
                    return
            except psycopg.errors.UndefinedTable:
                pass  # the CREATE TABLE has not been replayed yet
            time.sleep(0.02)
    raise AssertionError(f"row {name!r} never reached the replica")


@pytest.fixture(scope="module")
def routed_pair(streaming_pair: StreamingPair, django_db_blocker: pytest.FixtureRequest) -> Iterator[StreamingPair]:
    """Aliases for the pair and the migrated schema on the primary (it reaches the replica by replication)."""
    with (
        django_db_blocker.unblock(),  # type: ignore[attr-defined]
        alias_for_url("pair_primary", streaming_pair.primary.url()),
        alias_for_url("pair_replica", streaming_pair.replica.url()),
    ):
        # The whole schema, as a deployment has it: other features' signals and triggers may touch any table.
        call_command("migrate", database="pair_primary", verbosity=0, interactive=False)
        Term.objects.using("pair_primary").create(
            name="Seed term", starts_on=dt.date(2025, 1, 6), ends_on=dt.date(2025, 4, 4)
        )
        _wait_for_replica(streaming_pair, "Seed term")
        yield streaming_pair


@pytest.fixture
def pair_routing(routed_pair: StreamingPair, django_db_blocker: pytest.FixtureRequest) -> Iterator[StreamingPair]:
    with django_db_blocker.unblock(), override_settings(DATABASE_ROUTERS=[PAIR_ROUTER]):  # type: ignore[attr-defined]
        reset_request_state()
        replica_health.reset()
        yield routed_pair


def test_the_replica_is_a_streaming_standby_of_the_primary(routed_pair: StreamingPair) -> None:
    with (
        psycopg.connect(routed_pair.primary.conninfo(), autocommit=True) as primary,
        psycopg.connect(routed_pair.replica.conninfo(), autocommit=True) as replica,
    ):
        assert primary.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        senders = primary.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").fetchone()
        assert senders == (1,)
        primary.execute(
            "INSERT INTO terms (name, starts_on, ends_on) VALUES (%s, %s, %s)",
            ["Streamed term", dt.date(2025, 4, 21), dt.date(2025, 7, 18)],
        )
    _wait_for_replica(routed_pair, "Streamed term")


def test_reads_asked_for_the_replica_are_served_by_it(pair_routing: StreamingPair) -> None:
    with use_replica():
        assert _in_recovery() is True
    rows = find_many("terms", {"name": "Seed term"}, use_replica=True)
    assert [row["name"] for row in rows] == ["Seed term"]


def test_reads_not_asked_for_the_replica_stay_on_the_primary(pair_routing: StreamingPair) -> None:
    with use_replica(False):
        assert _in_recovery() is False
    assert PairRouter().read_alias() is None  # no preference: Django's own default applies


def test_writes_go_to_the_primary_and_later_reads_follow_them(pair_routing: StreamingPair) -> None:
    with use_replica():
        # The replica is read-only: this would fail there.
        Term.objects.create(
            name="Written while preferring the replica", starts_on=dt.date(2026, 1, 5), ends_on=dt.date(2026, 3, 27)
        )
        # Read-your-writes: right after the write, reads stay on the primary and see it.
        assert _in_recovery() is False
        assert find_many("terms", {"name": "Written while preferring the replica"}, use_replica=True)
        with override_settings(DB_READ_YOUR_WRITES_SECONDS=0):
            assert _in_recovery() is True


def test_a_new_request_is_not_pinned_by_the_previous_ones_write(pair_routing: StreamingPair) -> None:
    from django.core.signals import request_started

    with use_replica():
        Term.objects.create(name="Request one", starts_on=dt.date(2026, 4, 13), ends_on=dt.date(2026, 7, 10))
        assert _in_recovery() is False
        request_started.send(sender=None)
        assert _in_recovery() is True


def test_reads_inside_a_transaction_stay_on_the_primary(pair_routing: StreamingPair) -> None:
    with use_replica(), transaction.atomic(using="pair_primary"):
        assert _in_recovery() is False
        assert find_many("terms", {"name": "Seed term"}, use_replica=True)


def test_stopping_the_replica_falls_back_to_the_primary_with_a_warning(
    pair_routing: StreamingPair, caplog: pytest.LogCaptureFixture
) -> None:
    with use_replica():
        assert _in_recovery() is True  # holds an open connection to the replica
    pair_routing.replica.stop("fast")
    try:
        with caplog.at_level(logging.WARNING, logger="growthcompass"):
            rows = find_many("terms", {"name": "Seed term"}, use_replica=True)
        assert [row["name"] for row in rows] == ["Seed term"]
        assert any("unavailable" in record.getMessage() for record in caplog.records), caplog.text
        with use_replica():
            assert _in_recovery() is False
        # Marked down: later reads go straight to the primary without trying the replica.
        assert replica_health.is_down("pair_replica")
    finally:
        pair_routing.replica.start()
    with override_settings(DB_REPLICA_RETRY_SECONDS=0.01):
        time.sleep(0.05)
        with use_replica():
            assert _in_recovery() is True  # probed again and back in use
    assert not replica_health.is_down("pair_replica")


def test_settings_route_replica_reads_from_replica_database_url(routed_pair: StreamingPair) -> None:
    """End to end through the real settings: REPLICA_DATABASE_URL, DATABASE_ROUTERS, find_many."""
    script = """
import json, django
django.setup()
from django.db import connections, models
from django.db.models import Func
from courses.models import Term
from growthcompass.db.query import find_many
from growthcompass.db.router import use_replica
rows = find_many("terms", {"name": "Seed term"}, use_replica=True)
probe = Term.objects.annotate(r=Func(function="pg_is_in_recovery", output_field=models.BooleanField()))
with use_replica():
    on_replica = probe.values_list("r", flat=True).first()
with use_replica(False):
    on_primary = probe.values_list("r", flat=True).first()
print(json.dumps({"aliases": sorted(connections.settings), "rows": [r["name"] for r in rows],
                  "replica_read_in_recovery": on_replica, "primary_read_in_recovery": on_primary}))
"""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "growthcompass.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": routed_pair.primary.url(),
        "REPLICA_DATABASE_URL": routed_pair.replica.url(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": "gc-replica-test",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {
        "aliases": ["default", "replica"],
        "rows": ["Seed term"],
        "replica_read_in_recovery": True,
        "primary_read_in_recovery": False,
    }

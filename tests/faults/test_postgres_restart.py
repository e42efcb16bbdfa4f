"""PostgreSQL stopped and started again under a read/write loop: the pool recovers by itself.

A private server (``tests.db.servers``, unix socket only, in a ``mkdtemp``
root) gets the whole schema and a run-time alias with its own psycopg pool;
the suite's test database is never touched. A writer thread commits terms one
by one, a reader thread counts them through ``retry_read``, and a monitor
thread runs the primary-database health check, while the test stops the
server (``fast``: clients are told; ``immediate``: a crash, recovered from
the WAL on start) and starts it again. The alias has the pool a deployment
gets by default (``database_from_url``). Errors are allowed only while it is
away. Afterwards the same process -- no restart -- reads and writes again,
every write that reported a commit is there, and the health check said
"unreachable" during the outage and "ok" after it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.utils import InterfaceError, OperationalError
from django.test import override_settings

from courses.models import Term
from growthcompass.cache.config import caches_from_url
from growthcompass.db.retry import retry_read
from growthcompass.health.database import check_primary
from tests.db.aliases import alias_for_url
from tests.db.servers import StreamingPair
from tests.faults.conftest import Deadline, delete_cache_keys, run_in_threads, unique_cache_prefix

pytestmark = pytest.mark.slow

ALIAS = "faults_restart"
OPS_PER_PHASE = 40  # successful writes (and reads) in a phase before the test moves on
# How long the server stays stopped, at least: long enough for the pool's reconnection attempts to back off.
DOWN_FOR_S = 4.0
# What a client may see while the server is away; anything else is a failure.
OUTAGE_ERRORS = (OperationalError, InterfaceError)


@pytest.fixture(scope="module")
def server(django_db_blocker: Any) -> Iterator[StreamingPair]:
    """A private PostgreSQL with the project's schema, reachable as ``ALIAS`` (its own pool)."""
    pair = StreamingPair()
    prefix = unique_cache_prefix()
    try:
        pair.start_primary()
        with (
            django_db_blocker.unblock(),
            alias_for_url(ALIAS, pair.primary.url()),  # the pool and timeouts a deployment gets by default
            # ORM writes invalidate cache entries on commit: keep those to a prefix of this module's own.
            override_settings(CACHES=caches_from_url(settings.REDIS_URL, key_prefix=prefix)),
        ):
            call_command("migrate", database=ALIAS, verbosity=0, interactive=False)
            yield pair
    finally:
        pair.close()
        delete_cache_keys(prefix)


@dataclass
class Loop:
    """The phase the test is in, and what the threads saw in each phase."""

    phase: str = "before"
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    successes: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    health: list[tuple[str, bool, str]] = field(default_factory=list)
    committed: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def record(self, who: str, phase: str, error: BaseException | None = None) -> None:
        with self.lock:
            if error is None:
                per_phase = self.successes.setdefault(who, {})
                per_phase[phase] = per_phase.get(phase, 0) + 1
            else:
                self.errors.setdefault(phase, []).append(f"{who}: {type(error).__name__}: {error}".splitlines()[0])

    def succeeded(self, who: str, phase: str) -> int:
        with self.lock:
            return self.successes.get(who, {}).get(phase, 0)

    def set_phase(self, phase: str) -> None:
        with self.lock:
            self.phase = phase


def _keep_going(loop: Loop, who: str, operation: Callable[[str], None]) -> None:
    """Call ``operation(phase)`` until told to stop; outage errors are recorded, others end the thread."""
    while not loop.stop.is_set():
        phase = loop.phase
        try:
            operation(phase)
        except OUTAGE_ERRORS as exc:
            loop.record(who, phase, exc)
            connections[ALIAS].close()  # give a broken connection back; the pool checks before lending it again
            time.sleep(0.05)
        else:
            loop.record(who, phase)


def _write(loop: Loop, run: str) -> Callable[[str], None]:
    counter = iter(range(1_000_000))

    def write(phase: str) -> None:
        name = f"{run}-{next(counter)}"
        Term.objects.using(ALIAS).create(name=name, starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2025, 12, 19))
        with loop.lock:
            loop.committed.append(name)  # create() returned: the commit was acknowledged

    return write


def _read(loop: Loop, run: str) -> Callable[[str], None]:
    def read(phase: str) -> None:
        with loop.lock:
            at_least = len(loop.committed)
        found = retry_read(lambda: Term.objects.using(ALIAS).filter(name__startswith=f"{run}-").count())
        if found < at_least:
            loop.wrong.append(f"read {found} terms in phase {phase}, {at_least} were committed before it began")

    return read


def _monitor_health(loop: Loop) -> None:
    while not loop.stop.is_set():
        phase = loop.phase
        result = check_primary(ALIAS)
        with loop.lock:
            if loop.phase == phase:  # a check that straddled a phase change says nothing about either
                loop.health.append((phase, result.ok, result.detail))
        time.sleep(0.1)


def _health_in(loop: Loop, phase: str) -> list[bool]:
    with loop.lock:
        return [ok for seen_in, ok, _ in loop.health if seen_in == phase]


@pytest.mark.parametrize("stop_mode", ["fast", "immediate"])
def test_the_pool_recovers_from_a_restart_and_keeps_every_committed_write(
    server: StreamingPair, django_db_blocker: Any, stop_mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = Loop()
    run = f"restart-{stop_mode}"
    restarted_at = 0.0
    recovered_after_s = 0.0

    def conduct() -> None:
        nonlocal restarted_at, recovered_after_s
        try:
            both = ("writer", "reader")
            Deadline(30).poll(lambda: all(loop.succeeded(w, "before") >= OPS_PER_PHASE for w in both), "work before")
            loop.set_phase("stopping")  # work in flight now may fail: it is not "before" any more
            server.primary.stop(stop_mode)
            loop.set_phase("down")
            time.sleep(DOWN_FOR_S)
            Deadline(20).poll(lambda: False in _health_in(loop, "down"), "the health check noticing the outage")
            loop.set_phase("starting")
            server.primary.start()
            restarted_at = time.monotonic()
            loop.set_phase("restarted")
            Deadline(45).poll(lambda: all(loop.succeeded(w, "restarted") for w in both), "the pool recovering")
            recovered_after_s = time.monotonic() - restarted_at
            loop.set_phase("recovered")
            Deadline(30).poll(lambda: all(loop.succeeded(w, "recovered") >= OPS_PER_PHASE for w in both), "work after")
            Deadline(10).poll(lambda: True in _health_in(loop, "recovered"), "the health check reporting recovery")
        finally:
            loop.stop.set()

    workers: list[Callable[[], None]] = [
        lambda: _keep_going(loop, "writer", _write(loop, run)),
        lambda: _keep_going(loop, "reader", _read(loop, run)),
        lambda: _monitor_health(loop),
        conduct,
    ]
    with django_db_blocker.unblock():
        errors = run_in_threads(len(workers), lambda i: workers[i](), timeout_s=150)

    assert errors == []
    assert loop.wrong == []
    assert loop.errors.get("before", []) == [] and loop.errors.get("recovered", []) == [], loop.errors
    outage_errors = [error for phase, errors in loop.errors.items() for error in errors]
    assert outage_errors, "the loop really ran into the outage"
    assert loop.phase == "recovered"

    # The health check: fine before, the outage reported as such, fine again after.
    assert set(_health_in(loop, "before")) == {True}
    outage_reports = [detail for phase, ok, detail in loop.health if phase == "down" and not ok]
    assert outage_reports and all("unreachable" in detail for detail in outage_reports), outage_reports
    assert _health_in(loop, "recovered")[-1] is True

    # Every write that reported a commit survived the restart (read on a fresh connection, not the pool).
    with psycopg.connect(_conninfo_of(server), autocommit=True) as conn:
        rows = conn.execute("SELECT name FROM terms WHERE name LIKE %s", [f"{run}-%"]).fetchall()
    stored = {name for (name,) in rows}
    missing = sorted(set(loop.committed) - stored, key=lambda name: int(name.rsplit("-", 1)[1]))
    assert missing == [], f"{len(missing)} committed writes lost: {missing[:10]}"
    assert len(loop.committed) >= 2 * OPS_PER_PHASE

    with capsys.disabled():
        print(
            f"\n[faults] PostgreSQL {stop_mode} stop for >= {DOWN_FOR_S} s: pool serving again "
            f"{recovered_after_s:.2f} s after the restart; {len(loop.committed)} committed writes, all present; "
            f"errors during the outage: {len(outage_errors)}"
        )


def _conninfo_of(server: StreamingPair) -> str:
    return server.primary.conninfo(str(connections.settings[ALIAS]["NAME"]))

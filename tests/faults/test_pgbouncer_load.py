"""200 client threads through a transaction-pooling PgBouncer with 20 server connections, for a bounded time.

Each thread acts as its own user and mixes reads with the write paths the
audit log must attribute (autocommit creates and updates, ``atomic`` blocks
with a nested context naming another user, context-free writes, a rolled-back
transaction). The pooler hands each transaction to whichever of its 20 server
connections is free, so consecutive statements of one thread run on different
server sessions and each server session serves many threads: anything set at
session level (rather than per transaction) would show up on another thread's
rows. Afterwards: no thread saw an error, every committed write is in its
table and audited exactly once with the user its thread meant, and nothing
rolled back left a row or an entry.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import types
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connections, transaction
from django.db.models import Max

from auditing.context import audit_context
from auditing.models import AuditLog
from courses.models import Term
from growthcompass.devservers.pgbouncer import LocalPgBouncer
from tests.db.aliases import temporary_alias
from tests.factories import UserFactory
from tests.faults.conftest import run_in_threads
from tests.pgbouncer import local_pgbouncer, pooled_entry

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Django's real ensure_connection, set by the fixture: a test case refuses threads' connections to an
# alias it was not told about when it started, which this one, made at run time, cannot be.
_ensure_connection: list[Any] = []

THREADS = 200
SERVER_CONNECTIONS = 20
LOAD_SECONDS = 12.0
ALIAS = "bounced"
STARTS, ENDS = dt.date(2026, 1, 5), dt.date(2026, 3, 27)


class Ledger:
    """What the threads meant: committed name -> acting user; rolled-back names; the server sessions used."""

    def __init__(self) -> None:
        self.expected: dict[str, int | None] = {}
        self.rolled_back: list[str] = []
        self.final_name: dict[int, str] = {}
        self.threads_by_backend: dict[int, set[int]] = defaultdict(set)
        self.reads = 0
        self.lock = threading.Lock()

    def expect(self, names: list[str], user_id: int | None) -> None:
        with self.lock:
            for name in names:
                assert name not in self.expected, f"name {name} reused"
                self.expected[name] = user_id


def _backend() -> int:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _work(index: int, me: int, other: int, term_id: int, ledger: Ledger, start: threading.Barrier) -> None:
    rng = random.Random(index)
    connection = connections[ALIAS]
    connection.ensure_connection = types.MethodType(_ensure_connection[0], connection)  # type: ignore[method-assign]
    terms = Term.objects.using(ALIAS)
    start.wait(timeout=120)
    ends_at = time.monotonic() + LOAD_SECONDS
    step = 0
    while time.monotonic() < ends_at:
        step += 1
        name = f"pgb-{index}-{step}"
        choice = rng.random()
        if choice < 0.35:
            # A read of this thread's own committed state, and one of somebody's.
            own = terms.filter(pk=term_id).values_list("name", flat=True).first()
            assert own == ledger.final_name.get(index, own), f"thread {index} read {own!r}"
            terms.filter(pk__gte=rng.randint(1, 10_000)).order_by("pk").values_list("pk", flat=True).first()
            with ledger.lock:
                ledger.reads += 2
            continue
        if choice < 0.55:
            with audit_context(user=me, reason="create"):
                terms.create(name=f"{name}-c", starts_on=STARTS, ends_on=ENDS)
            ledger.expect([f"{name}-c"], me)
            assert terms.filter(name=f"{name}-c").exists(), "a committed write is visible at once"
        elif choice < 0.70:
            with audit_context(user=me, reason="rename"):
                terms.filter(pk=term_id).update(name=f"{name}-u")
            ledger.expect([f"{name}-u"], me)
            ledger.final_name[index] = f"{name}-u"
        elif choice < 0.82:
            with audit_context(user=me), transaction.atomic(using=ALIAS):
                terms.create(name=f"{name}-a1", starts_on=STARTS, ends_on=ENDS)
                with audit_context(user=other, reason="on behalf", using=ALIAS):
                    terms.create(name=f"{name}-a2", starts_on=STARTS, ends_on=ENDS)
                terms.create(name=f"{name}-a3", starts_on=STARTS, ends_on=ENDS)
                backend = _backend()
            ledger.expect([f"{name}-a1", f"{name}-a3"], me)
            ledger.expect([f"{name}-a2"], other)
            with ledger.lock:
                ledger.threads_by_backend[backend].add(index)
        elif choice < 0.92:
            terms.create(name=f"{name}-n", starts_on=STARTS, ends_on=ENDS)
            ledger.expect([f"{name}-n"], None)
        else:
            try:
                with audit_context(user=me), transaction.atomic(using=ALIAS):
                    terms.create(name=f"{name}-r", starts_on=STARTS, ends_on=ENDS)
                    raise RuntimeError("roll this transaction back")
            except RuntimeError:
                pass
            with ledger.lock:
                ledger.rolled_back.append(f"{name}-r")
        if rng.random() < 0.1:
            connections[ALIAS].close()  # back to the psycopg pool: maybe another thread's next


class PoolWatch:
    """Polls PgBouncer's ``SHOW POOLS`` while the load runs: the most clients and server connections seen."""

    def __init__(self, bouncer: LocalPgBouncer, dbname: str) -> None:
        self.bouncer, self.dbname = bouncer, dbname
        self.max_clients = 0
        self.max_servers = 0
        self.max_waiting = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pgbouncer-watch", daemon=True)

    def __enter__(self) -> PoolWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            self._poll()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _poll(self) -> None:
        conninfo = self.bouncer.admin_conninfo()
        with psycopg.connect(conninfo, autocommit=True, cursor_factory=psycopg.ClientCursor) as admin:
            while not self._stop.is_set():
                cursor = admin.execute("SHOW POOLS")
                names = [column.name for column in cursor.description or ()]
                for row in cursor.fetchall():
                    pool = dict(zip(names, row, strict=True))
                    if pool["database"] != self.dbname:
                        continue
                    clients = int(pool["cl_active"]) + int(pool["cl_waiting"])
                    servers = sum(int(pool[key]) for key in names if key.startswith("sv_"))
                    self.max_clients = max(self.max_clients, clients)
                    self.max_servers = max(self.max_servers, servers)
                    self.max_waiting = max(self.max_waiting, int(pool["cl_waiting"]))
                self._stop.wait(0.1)


@pytest.fixture
def bounced(transactional_db: None, django_db_blocker: Any) -> Iterator[LocalPgBouncer]:
    """A PgBouncer in front of the test database (which ``transactional_db`` sets up and flushes after)."""
    _ensure_connection[:] = [django_db_blocker._real_ensure_connection]
    with local_pgbouncer(pool_size=SERVER_CONNECTIONS, max_client_conn=THREADS + 50) as bouncer:
        entry = pooled_entry(bouncer, pool=True)
        entry["OPTIONS"]["pool"].update(min_size=0, max_size=THREADS, timeout=30.0)
        with temporary_alias(ALIAS, entry):
            yield bouncer


def test_two_hundred_threads_over_twenty_server_connections_lose_and_misattribute_nothing(
    bounced: LocalPgBouncer,
) -> None:
    users = UserFactory.create_batch(THREADS)
    own_terms = Term.objects.bulk_create(
        Term(name=f"pgb-{index}-own", starts_on=STARTS, ends_on=ENDS) for index in range(THREADS)
    )
    mark = AuditLog.objects.aggregate(top=Max("id"))["top"] or 0  # audit_log is never flushed between tests
    ledger = Ledger()
    start = threading.Barrier(THREADS)
    dbname = connections["default"].settings_dict["NAME"]
    connections.close_all()

    with PoolWatch(bounced, dbname) as watch:
        errors = run_in_threads(
            THREADS,
            lambda i: _work(i, users[i].pk, users[(i + 1) % THREADS].pk, own_terms[i].pk, ledger, start),
            timeout_s=LOAD_SECONDS + 240,
        )

    assert errors == [], f"{len(errors)} thread(s) failed, first: {errors[:1]!r}"
    assert watch.error is None, f"SHOW POOLS failed: {watch.error!r}"
    assert watch.max_servers <= SERVER_CONNECTIONS, f"PgBouncer opened {watch.max_servers} server connections"
    assert watch.max_clients > SERVER_CONNECTIONS, f"only {watch.max_clients} clients at once: nothing was pooled"
    assert any(len(threads) > 1 for threads in ledger.threads_by_backend.values()), "server sessions were shared"

    writes = len(ledger.expected)
    assert writes > THREADS, f"only {writes} writes committed"
    present = set(Term.objects.filter(name__startswith="pgb-").values_list("name", flat=True))
    for index, term in enumerate(own_terms):
        assert Term.objects.get(pk=term.pk).name == ledger.final_name.get(index, term.name)
    created = {name for name in ledger.expected if not name.endswith("-u")}
    assert created - present == set(), "every committed insert is in the table"
    assert not present & set(ledger.rolled_back), "nothing rolled back was kept"

    entries = AuditLog.objects.filter(id__gt=mark, table_name="terms", operation__in=["INSERT", "UPDATE"])
    by_name: dict[str, list[int | None]] = defaultdict(list)
    for name, user_id in entries.values_list("new_data__name", "changed_by_id"):
        by_name[str(name)].append(user_id)
    counts = Counter({name: len(users_) for name, users_ in by_name.items() if name in ledger.expected})
    missing = [name for name in ledger.expected if counts[name] == 0]
    twice = [name for name, count in counts.items() if count > 1]
    assert missing == [], f"{len(missing)} committed writes not audited: {missing[:10]}"
    assert twice == [], f"{len(twice)} writes audited more than once: {twice[:10]}"
    wrong = {
        name: (by_name[name][0], meant) for name, meant in ledger.expected.items() if by_name[name][0] != meant
    }
    assert wrong == {}, f"{len(wrong)} entries misattributed (recorded, meant): {list(wrong.items())[:10]}"
    assert not set(by_name) & set(ledger.rolled_back), "a rolled-back write left no entry"
    print(
        f"\nPgBouncer load: {THREADS} threads over {SERVER_CONNECTIONS} server connections for {LOAD_SECONDS:g} s: "
        f"{writes} audited writes, {ledger.reads} reads, {len(ledger.rolled_back)} rolled back; "
        f"peak {watch.max_clients} clients, {watch.max_servers} server connections, {watch.max_waiting} waiting"
    )

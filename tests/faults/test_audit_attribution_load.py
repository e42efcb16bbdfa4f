"""Audit attribution under eight threads sharing the psycopg pool: every entry names the right user.

The acting user reaches the audit triggers through a transaction-local
setting, re-sent with every statement; nothing is left on a pooled
connection for its next borrower. This runs eight threads, each acting as its
own user, through every write path the audit log promises to attribute
(ORM update and create, ``bulk_create``, raw SQL, ``atomic`` blocks with
writes before and after the context, nested contexts naming another user, a
rolled-back savepoint, and context-free writes) while connections go back to
the pool after most statements and get borrowed by other threads. Every
entry must carry exactly the user its thread meant, and none may be missing
or extra.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import defaultdict
from collections.abc import Callable

import pytest
from django.db import connections, transaction
from django.db.models import Max

from auditing.context import audit_context
from auditing.models import AuditLog
from courses.models import Term
from tests.factories import TermFactory, UserFactory
from tests.faults.conftest import Deadline, run_in_threads

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THREADS = 8
ROUNDS = 40
STARTS, ENDS = dt.date(2026, 1, 5), dt.date(2026, 3, 27)


class Ledger:
    """What each thread meant: term name -> expected ``changed_by``; which threads each backend served."""

    def __init__(self) -> None:
        self.expected: dict[str, int | None] = {}
        self.threads_by_backend: dict[int, set[int]] = defaultdict(set)
        self.lock = threading.Lock()

    def expect(self, thread: int, names: list[str], user_id: int | None) -> None:
        backend = connections["default"].connection.info.backend_pid
        with self.lock:
            for name in names:
                assert name not in self.expected, f"name {name} reused"
                self.expected[name] = user_id
            self.threads_by_backend[backend].add(thread)


class ThreadWork:
    """One thread's writes, as one user, over its own term and new ones."""

    def __init__(self, index: int, user_id: int, other_user_id: int, term: Term, ledger: Ledger) -> None:
        self.index, self.user_id, self.other_user_id = index, user_id, other_user_id
        self.term, self.ledger = term, ledger
        self.rng = random.Random(index)

    def rename(self, name: str) -> None:
        Term.objects.filter(pk=self.term.pk).update(name=name)

    def paths(self, prefix: str) -> list[Callable[[], None]]:
        me, other, ledger, index = self.user_id, self.other_user_id, self.ledger, self.index

        def orm_update() -> None:
            with audit_context(user=me, reason="update"):
                self.rename(f"{prefix}-update")
                ledger.expect(index, [f"{prefix}-update"], me)

        def orm_create() -> None:
            with audit_context(user=me):
                Term.objects.create(name=f"{prefix}-create", starts_on=STARTS, ends_on=ENDS)
                ledger.expect(index, [f"{prefix}-create"], me)

        def bulk_create() -> None:
            names = [f"{prefix}-bulk-{n}" for n in range(3)]
            with audit_context(user=me):
                Term.objects.bulk_create(Term(name=name, starts_on=STARTS, ends_on=ENDS) for name in names)
                ledger.expect(index, names, me)

        def raw_sql() -> None:
            with audit_context(user=me), connections["default"].cursor() as cursor:
                cursor.execute("UPDATE terms SET name = %s WHERE id = %s", [f"{prefix}-raw", self.term.pk])
                ledger.expect(index, [f"{prefix}-raw"], me)

        def atomic_before_and_after() -> None:
            with transaction.atomic():
                with audit_context(user=me):
                    self.rename(f"{prefix}-atomic-in")
                self.rename(f"{prefix}-atomic-after")
                ledger.expect(index, [f"{prefix}-atomic-in"], me)
                ledger.expect(index, [f"{prefix}-atomic-after"], None)

        def nested_other_user() -> None:
            with audit_context(user=me), transaction.atomic():
                with audit_context(user=other, reason="on behalf"):
                    self.rename(f"{prefix}-nested-other")
                self.rename(f"{prefix}-nested-back")
                ledger.expect(index, [f"{prefix}-nested-other"], other)
                ledger.expect(index, [f"{prefix}-nested-back"], me)

        def savepoint_rolled_back() -> None:
            with audit_context(user=me), transaction.atomic():
                try:
                    with transaction.atomic():
                        self.rename(f"{prefix}-rolled-back")
                        raise RuntimeError("roll this savepoint back")
                except RuntimeError:
                    pass
                self.rename(f"{prefix}-kept")
                ledger.expect(index, [f"{prefix}-kept"], me)

        def no_context() -> None:
            self.rename(f"{prefix}-nobody")
            ledger.expect(index, [f"{prefix}-nobody"], None)

        return [
            orm_update,
            orm_create,
            bulk_create,
            raw_sql,
            atomic_before_and_after,
            nested_other_user,
            savepoint_rolled_back,
            no_context,
        ]

    def run(self, start: threading.Barrier, deadline: Deadline) -> None:
        start.wait(timeout=30)
        for round_ in range(ROUNDS):
            assert not deadline.expired, f"thread {self.index} managed {round_} of {ROUNDS} rounds"
            paths = self.paths(f"t{self.index}-r{round_}")
            self.rng.shuffle(paths)
            for path in paths:
                path()
                if self.rng.random() < 0.7:
                    connections["default"].close()  # back to the pool: maybe another thread's next


def test_every_audit_entry_names_the_user_its_thread_meant() -> None:
    assert getattr(connections["default"], "pool", None) is not None, "the suite must run on the psycopg pool"
    users = [UserFactory.create() for _ in range(THREADS)]
    terms = [TermFactory.create() for _ in range(THREADS)]
    ledger = Ledger()
    work = [ThreadWork(i, users[i].pk, users[(i + 1) % THREADS].pk, terms[i], ledger) for i in range(THREADS)]
    start = threading.Barrier(THREADS)
    deadline = Deadline(120)
    mark = AuditLog.objects.aggregate(top=Max("id"))["top"] or 0  # audit_log is never flushed between tests
    connections.close_all()

    errors = run_in_threads(THREADS, lambda i: work[i].run(start, deadline), timeout_s=150)

    assert errors == []
    entries = AuditLog.objects.filter(id__gt=mark, table_name="terms", operation__in=["INSERT", "UPDATE"])
    recorded = {e.new_data["name"]: e.changed_by_id for e in entries if e.new_data and e.new_data["name"][0] == "t"}
    assert not any("rolled-back" in name for name in recorded), "a rolled-back write left no entry"
    expected = ledger.expected
    wrong = {name: (recorded.get(name), meant) for name, meant in expected.items() if recorded.get(name) != meant}
    assert wrong == {}, f"{len(wrong)} entries misattributed or missing (recorded, meant): {list(wrong.items())[:10]}"
    assert set(recorded) == set(ledger.expected), "no entry nobody meant"
    assert len(ledger.expected) == THREADS * ROUNDS * 12
    shared = [backend for backend, threads in ledger.threads_by_backend.items() if len(threads) > 1]
    assert shared, f"the pool handed a backend to several threads: {dict(ledger.threads_by_backend)}"

"""No audit context leaks between users of the psycopg pool, with many threads writing at once."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from auditing.context import audit_context
from courses.models import Term
from tests.auditing.conftest import Entries
from tests.factories import TermFactory, UserFactory

THREADS = 6
ROUNDS = 5

pytestmark = pytest.mark.django_db(transaction=True)


def _run_threads(count: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_every_entry_names_its_own_thread_user_and_context_free_writes_name_nobody(new_entries: Entries) -> None:
    assert getattr(connection, "pool", None) is not None, "the suite must run on the psycopg pool"
    users = [UserFactory.create() for _ in range(THREADS)]
    terms = [TermFactory.create() for _ in range(THREADS)]
    expected: dict[str, int | None] = {}
    threads_by_backend: dict[int, set[int]] = defaultdict(set)
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def write(index: int, name: str, user_id: int | None) -> None:
        Term.objects.filter(pk=terms[index].pk).update(name=name)
        raw = connections["default"].connection
        with lock:
            expected[name] = user_id
            threads_by_backend[raw.info.backend_pid].add(index)

    def work(index: int) -> None:
        user_id = users[index].pk
        start.wait()
        for round_ in range(ROUNDS):
            prefix = f"t{index}-r{round_}"
            with audit_context(user=user_id, reason=prefix):
                write(index, f"{prefix}-autocommit", user_id)
            connections["default"].close()  # back to the pool, maybe to another thread next
            with transaction.atomic():
                with audit_context(user=user_id):
                    write(index, f"{prefix}-atomic", user_id)
                write(index, f"{prefix}-atomic-after", None)
            connections["default"].close()
            write(index, f"{prefix}-no-context", None)
            connections["default"].close()

    connections.close_all()
    _run_threads(THREADS, work)
    # Afterwards, context-free writes on whatever connections the pool hands out.
    _run_threads(THREADS, lambda index: write(index, f"t{index}-afterwards", None))

    recorded = {e.new_data["name"]: e.changed_by_id for e in new_entries("terms", operation="UPDATE") if e.new_data}
    assert recorded == expected
    assert len(recorded) == THREADS * (ROUNDS * 4 + 1)
    # The pool really did hand one backend to several threads.
    assert any(len(indexes) > 1 for indexes in threads_by_backend.values()), threads_by_backend


def test_a_request_context_does_not_reach_the_next_request_on_the_same_pooled_connection(
    new_entries: Entries,
) -> None:
    user = UserFactory.create()
    term = TermFactory.create()
    connections.close_all()

    with audit_context(user=user, path="/admin/courses/term/"):
        Term.objects.filter(pk=term.pk).update(name="request one")
        backend = connection.connection.info.backend_pid
    connection.close()  # request_finished: the connection goes back to the pool

    seen: list[int] = []
    for attempt in range(20):  # the pool may hand out another idle connection first
        Term.objects.filter(pk=term.pk).update(name=f"request two {attempt}")
        seen.append(connection.connection.info.backend_pid)
        connection.close()
        if seen[-1] == backend:
            break

    assert backend in seen
    entries = new_entries("terms", operation="UPDATE")
    assert entries[0].changed_by_id == user.pk
    assert [e.changed_by_id for e in entries[1:]] == [None] * len(seen)

"""A runaway query is cancelled by the server's statement timeout, and its connection stays usable.

Every pooled connection carries ``statement_timeout`` so a runaway query
cannot hold a connection forever. Here three kinds of runaway (CPU-bound,
sleeping, and stuck behind another session's lock) run on an alias of the
test database with a short limit and a pool of exactly one connection:
the error is ``QueryTimeout`` naming the statement timeout, the read is not
retried, and the very same backend answers the next query -- after being
given back to the pool, and inside an outer transaction whose savepoint
caught the error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connections, transaction
from django.db.utils import OperationalError

from growthcompass.db.exceptions import QueryTimeout
from growthcompass.db.retry import retry_read
from tests.db.aliases import alias_for_url, suite_database_url
from tests.faults.conftest import Deadline

pytestmark = pytest.mark.slow

ALIAS = "faults_short"
LIMIT_MS = 300
LOCK_KEY = 724_011  # an advisory lock key of this module's own

RUNAWAYS = {
    "cpu": "SELECT count(*) FROM generate_series(1, 10000000000)",
    "sleep": "SELECT pg_sleep(120)",
    "lock wait": f"SELECT pg_advisory_lock({LOCK_KEY})",
}


@pytest.fixture
def short_alias(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The test database under ``ALIAS``: a pool of one connection, a short statement timeout. Read-only use."""
    with (
        django_db_blocker.unblock(),
        alias_for_url(ALIAS, suite_database_url(), statement_timeout_ms=LIMIT_MS, pool_min_size=1, pool_max_size=1),
    ):
        yield ALIAS


@pytest.fixture
def lock_holder(django_db_setup: None) -> Iterator[psycopg.Connection[Any]]:
    """Another session holding the advisory lock the "lock wait" runaway queues for."""
    settings = connections["default"].settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    ) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        yield holder


def _one(alias: str, sql: str) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    assert row is not None
    return row[0]


def _backend(alias: str) -> int:
    return int(_one(alias, "SELECT pg_backend_pid()"))


@pytest.mark.parametrize("kind", list(RUNAWAYS))
def test_a_runaway_read_is_cancelled_with_a_clear_error_and_its_connection_answers_next(
    short_alias: str, lock_holder: psycopg.Connection[Any], kind: str
) -> None:
    backend = _backend(short_alias)
    attempts = []

    def runaway() -> None:
        attempts.append(1)
        _one(short_alias, RUNAWAYS[kind])

    with pytest.raises(QueryTimeout) as cancelled:
        retry_read(runaway)

    message = str(cancelled.value)
    assert "canceling statement due to statement timeout" in message
    assert "DB_STATEMENT_TIMEOUT_MS" in message, "the error says which setting bounds it"
    assert attempts == [1], "a timeout is not retried: it would only time out again"
    # The same connection answers at once, and again after a round trip through the pool (of one).
    assert _backend(short_alias) == backend
    connections[short_alias].close()
    assert _backend(short_alias) == backend
    assert _one(short_alias, "SELECT current_setting('statement_timeout')") == f"{LIMIT_MS}ms"


def test_a_runaway_inside_a_transaction_fails_its_savepoint_not_the_connection(short_alias: str) -> None:
    backend = _backend(short_alias)
    with transaction.atomic(using=short_alias):
        with connections[short_alias].cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE runaway_probe (n int) ON COMMIT DROP")
            cursor.execute("INSERT INTO runaway_probe VALUES (1)")
        with pytest.raises(OperationalError, match="statement timeout"):
            with transaction.atomic(using=short_alias):
                _one(short_alias, RUNAWAYS["cpu"])
        # Rolled back to the savepoint: the transaction and what it did before are intact.
        assert _one(short_alias, "SELECT sum(n) FROM runaway_probe") == 1
        assert _backend(short_alias) == backend
    assert _backend(short_alias) == backend


def test_repeated_runaways_do_not_wear_the_pool_out(short_alias: str) -> None:
    """Twenty cancellations in a row on a pool of one: each leaves the connection fit for the next query."""
    backend = _backend(short_alias)
    deadline = Deadline(60)
    for attempt in range(20):
        assert not deadline.expired, f"only {attempt} runaways cancelled within {deadline.seconds:g} s"
        with pytest.raises(QueryTimeout):
            retry_read(lambda: _one(short_alias, RUNAWAYS["sleep"]))
        assert _one(short_alias, "SELECT 1") == 1
        connections[short_alias].close()
    assert _backend(short_alias) == backend

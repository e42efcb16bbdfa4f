"""Real connections: timeouts, the pool's limits, retried reads and ``wait_for_db``."""

from __future__ import annotations

import json
import logging
import threading
from io import StringIO

import psycopg
import psycopg.errors
import pytest
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.db.utils import IntegrityError, OperationalError
from psycopg_pool import PoolTimeout

from courses.models import Term
from growthcompass.db.exceptions import QueryTimeout
from growthcompass.db.retry import backoff_delay, is_connection_lost, retry_read
from tests.db.aliases import alias_for_url, suite_database_url
from tests.db.servers import StreamingPair
from tests.pgbouncer import behind_pooler_marker

# PgBouncer replaces a server connection that died between transactions without the client noticing,
# so the lost connection these tests provoke never reaches the retry logic (tests/db/test_pooler.py shows it).
SERVER_LOSS_HIDDEN = behind_pooler_marker("a lost server connection is replaced by the pooler, unseen by the client")

# Run-time aliases are outside what a Django TestCase allows; nothing here writes to the test database.
pytestmark = pytest.mark.usefixtures("db_unblocked")


def _backend_pid(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _terminate(pid: int) -> None:
    """End one backend of ours from a separate connection, as a server restart or network cut would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def _django_error(exc: psycopg.Error) -> OperationalError:
    """The error as Django raises it: its own class, with the driver's error as the cause."""
    try:
        try:
            raise exc
        except psycopg.Error as inner:
            raise OperationalError(str(inner)) from inner
    except OperationalError as wrapped:
        return wrapped


# --- timeouts and the pool -------------------------------------------------------------------------


def test_every_connection_carries_the_statement_timeout_and_application_name() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('application_name')")
        assert cursor.fetchone() == ("30s", "growthcompass")


def test_a_runaway_query_is_cancelled_with_a_clear_error() -> None:
    calls = []

    def runaway() -> None:
        calls.append(1)
        with connections["short"].cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")

    with alias_for_url("short", suite_database_url(), statement_timeout_ms=100):
        with pytest.raises(QueryTimeout, match="statement timeout") as excinfo:
            retry_read(runaway)
    assert isinstance(excinfo.value, OperationalError)
    assert "statement_timeout" in str(excinfo.value)
    assert calls == [1]  # a timeout is not retried


def test_the_pool_refuses_a_connection_after_its_timeout_when_exhausted() -> None:
    holding = threading.Event()
    release = threading.Event()

    def hold_the_only_connection() -> None:
        try:
            connections["tiny"].ensure_connection()
            holding.set()
            release.wait(30)
        finally:
            connections["tiny"].close()

    with alias_for_url("tiny", suite_database_url(), pool_min_size=1, pool_max_size=1, pool_timeout_s=0.2):
        holder = threading.Thread(target=hold_the_only_connection)
        holder.start()
        try:
            assert holding.wait(30)
            with pytest.raises(OperationalError) as excinfo:
                connections["tiny"].ensure_connection()
            assert isinstance(excinfo.value.__cause__, PoolTimeout)
        finally:
            release.set()
            holder.join(30)
        connections["tiny"].ensure_connection()  # freed: the pool hands it out again
        assert connections["tiny"].connection is not None


# --- retried reads ---------------------------------------------------------------------------------


@SERVER_LOSS_HIDDEN
def test_a_read_whose_connection_was_lost_is_retried_on_a_new_one(caplog: pytest.LogCaptureFixture) -> None:
    with alias_for_url("flaky", suite_database_url()):
        first = _backend_pid("flaky")
        _terminate(first)
        with caplog.at_level(logging.WARNING, logger="growthcompass.db.retry"):
            second = retry_read(lambda: _backend_pid("flaky"))
    assert second != first
    assert "retrying the read" in caplog.text


@SERVER_LOSS_HIDDEN
def test_a_lost_connection_inside_a_transaction_is_not_retried() -> None:
    calls = []

    def read() -> int:
        calls.append(1)
        return _backend_pid("flaky")

    with alias_for_url("flaky", suite_database_url()):
        with pytest.raises(OperationalError), transaction.atomic(using="flaky"):
            _terminate(_backend_pid("flaky"))
            retry_read(read)
    assert calls == [1]


@SERVER_LOSS_HIDDEN
def test_an_attempt_that_wrote_is_never_retried() -> None:
    calls = []

    def writes_then_reads() -> int:
        calls.append(1)
        router.db_for_write(Term)  # what every ORM write does first
        return _backend_pid("flaky")

    with alias_for_url("flaky", suite_database_url()):
        _terminate(_backend_pid("flaky"))
        with pytest.raises(OperationalError):
            retry_read(writes_then_reads)
    assert calls == [1]


def test_retries_stop_after_the_configured_attempts() -> None:
    calls = []

    def always_lost() -> None:
        calls.append(1)
        raise _django_error(psycopg.OperationalError("server closed the connection unexpectedly"))

    with pytest.raises(OperationalError):
        retry_read(always_lost, attempts=3, base_delay=0.001)
    assert len(calls) == 3


def test_a_pool_timeout_is_not_retried() -> None:
    calls = []

    def exhausted() -> None:
        calls.append(1)
        raise _django_error(PoolTimeout("couldn't get a connection after 2.00 sec"))

    with pytest.raises(OperationalError):
        retry_read(exhausted)
    assert calls == [1]


def test_other_database_errors_are_not_retried() -> None:
    calls = []

    def duplicate() -> None:
        calls.append(1)
        raise IntegrityError("duplicate key")

    with pytest.raises(IntegrityError):
        retry_read(duplicate)
    assert calls == [1]


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
        (PoolTimeout("couldn't get a connection after 2.00 sec"), True),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
        (psycopg.errors.SerializationFailure("could not serialize access"), False),
    ],
)
def test_connection_loss_is_told_apart_from_statement_errors(error: psycopg.Error, lost: bool) -> None:
    assert is_connection_lost(_django_error(error)) is lost


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    for attempt, step in [(1, 0.1), (2, 0.2), (3, 0.4), (8, 1.0)]:
        delays = {backoff_delay(attempt, base=0.1, cap=1.0) for _ in range(50)}
        assert all(step / 2 <= delay <= step for delay in delays)
        assert len(delays) > 1  # jittered


# --- wait_for_db --------------------------------------------------------------------------------------


def test_wait_for_db_returns_at_once_when_the_database_answers() -> None:
    out = StringIO()
    call_command("wait_for_db", "--timeout", "5", stdout=out)
    assert "database 'default' is ready" in out.getvalue()


def test_wait_for_db_json_output() -> None:
    out = StringIO()
    call_command("wait_for_db", "--json", stdout=out)
    outcome = json.loads(out.getvalue())
    assert outcome["ok"] is True and outcome["attempts"] == 1 and outcome["database"] == DEFAULT_DB_ALIAS


def test_wait_for_db_gives_up_after_the_timeout_with_a_clear_error() -> None:
    err = StringIO()
    with alias_for_url("absent", "postgres://postgres@%2Fnonexistent%2Fgc-socket/app"):
        with pytest.raises(CommandError, match=r"database 'absent' did not answer within 0.5 s \(\d+ attempts\)"):
            call_command("wait_for_db", "--database", "absent", "--timeout", "0.5", stderr=err)
    assert "retry in" in err.getvalue()


def test_wait_for_db_refuses_an_unknown_alias() -> None:
    with pytest.raises(CommandError, match="unknown database alias 'nope'"):
        call_command("wait_for_db", "--database", "nope")


def test_wait_for_db_waits_for_a_server_that_starts_later() -> None:
    pair = StreamingPair()
    try:
        pair.primary.socket_dir.mkdir()
        starter = threading.Timer(0.5, pair.start_primary)
        starter.start()
        out = StringIO()
        with alias_for_url("late", pair.primary.url()):
            call_command("wait_for_db", "--database", "late", "--timeout", "60", "--json", stdout=out)
        starter.join(60)
        outcome = json.loads(out.getvalue())
        assert outcome["ok"] is True
        assert outcome["attempts"] > 1
    finally:
        pair.close()

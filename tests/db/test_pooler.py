"""Behind a transaction-pooling PgBouncer: settings, the system check, and behaviour through a real one."""

from __future__ import annotations

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction

from growthcompass.db.config import database_from_url
from growthcompass.db.pooler import (
    DIRECT_KEY,
    TIMEOUT_KEY,
    behind_pooler,
    check_pooler_compatibility,
    pooler_of,
    pooler_problems,
    session_connection_params,
)
from growthcompass.db.transaction_settings import PoolerCursor, transaction_settings
from tests.pgbouncer import local_pgbouncer, pooled_connection, pooled_entry

URL = "postgres://app:secret@pooler.internal:6432/gc"
DIRECT = "postgres://app:secret@primary.internal:5432/gc"


# --- Settings -----------------------------------------------------------------------------------


def test_behind_pooler_moves_the_statement_timeout_out_of_the_startup_options() -> None:
    plain = database_from_url(URL, statement_timeout_ms=1234)
    assert plain["OPTIONS"]["options"] == "-c statement_timeout=1234"

    entry = behind_pooler(plain, pooler="pgbouncer", direct=database_from_url(DIRECT))

    assert "options" not in entry["OPTIONS"]
    assert entry[TIMEOUT_KEY] == 1234
    assert entry["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert entry["OPTIONS"]["prepare_threshold"] is None
    assert issubclass(entry["OPTIONS"]["cursor_factory"], PoolerCursor)
    assert entry["OPTIONS"]["cursor_factory"].statement_timeout_ms == 1234
    assert entry[DIRECT_KEY] == {"host": "primary.internal", "port": 5432, "user": "app", "password": "secret"}
    assert plain["OPTIONS"]["options"] == "-c statement_timeout=1234", "the input entry is left as it was"


def test_behind_pooler_refuses_an_unknown_pooler() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOLER must be one of pgbouncer"):
        behind_pooler(database_from_url(URL), pooler="pgpool")


def test_session_connections_open_the_alias_database_whatever_the_direct_url_names() -> None:
    from django.db.utils import ConnectionHandler

    entry = behind_pooler(
        database_from_url(URL), pooler="pgbouncer", direct=database_from_url(DIRECT[:-2] + "other")
    )
    entry["NAME"] = "test_gc"  # as a test run renames it
    params = session_connection_params(connection=ConnectionHandler({"default": entry})["default"])
    assert (params["host"], params["port"], params["dbname"]) == ("primary.internal", 5432, "test_gc")


def test_the_settings_module_applies_the_pooler_from_the_environment() -> None:
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json; from django.conf import settings; d = settings.DATABASES['default']; "
        "print(json.dumps([d.get('POOLER'), d['OPTIONS'].get('options'), d.get('DISABLE_SERVER_SIDE_CURSORS'), "
        "d.get('STATEMENT_TIMEOUT_MS'), d.get('DIRECT', {}).get('host')]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "growthcompass.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": URL,
        "DATABASE_DIRECT_URL": DIRECT,
        "DATABASE_POOLER": "pgbouncer",
        "DB_STATEMENT_TIMEOUT_MS": "4321",
    }
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == ["pgbouncer", None, True, 4321, "primary.internal"]


# --- The system check ---------------------------------------------------------------------------


def test_the_check_is_silent_for_an_entry_built_for_the_pooler() -> None:
    entry = behind_pooler(database_from_url(URL), pooler="pgbouncer", direct=database_from_url(DIRECT))
    assert pooler_problems({"default": entry}) == []


def test_the_check_lists_everything_incompatible_with_transaction_pooling() -> None:
    entry = behind_pooler(database_from_url(URL), pooler="pgbouncer")
    entry["OPTIONS"]["options"] = "-c search_path=app"
    entry["OPTIONS"]["prepare_threshold"] = 5
    entry["OPTIONS"]["assume_role"] = "owner"
    entry["DISABLE_SERVER_SIDE_CURSORS"] = False
    entry["OPTIONS"]["server_side_binding"] = True
    messages = pooler_problems({"default": entry})
    by_id = {str(message.id): message.msg for message in messages}
    assert sorted(by_id) == [
        "growthcompass.E101",
        "growthcompass.E102",
        "growthcompass.E103",
        "growthcompass.E104",
        "growthcompass.E105",
        "growthcompass.E106",
    ]
    assert "-c search_path=app" in by_id["growthcompass.E101"]
    assert "DISABLE_SERVER_SIDE_CURSORS" in by_id["growthcompass.E102"]
    assert "no direct connection" in by_id["growthcompass.E105"]


def test_the_check_ignores_an_alias_without_a_pooler() -> None:
    entry = database_from_url(URL)
    entry["OPTIONS"]["prepare_threshold"] = 5
    assert pooler_problems({"default": entry}) == []


def test_the_check_is_registered_and_passes_for_the_configured_databases() -> None:
    from django.core import checks

    assert check_pooler_compatibility in checks.registry.registry.get_checks()
    assert check_pooler_compatibility() == []


# --- Through a real PgBouncer -------------------------------------------------------------------


@pytest.mark.django_db
def test_pgbouncer_refuses_the_startup_options_a_direct_connection_sends() -> None:
    with local_pgbouncer() as bouncer:
        with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
            psycopg.connect(bouncer.url(), options="-c statement_timeout=1000").close()


@pytest.mark.django_db
def test_a_long_query_is_cancelled_by_the_statement_timeout_through_pgbouncer() -> None:
    with local_pgbouncer() as bouncer, pooled_connection(bouncer, statement_timeout_ms=200) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            assert cursor.fetchone() == ("200ms",)
            with pytest.raises(DatabaseError, match="statement timeout"):
                cursor.execute("SELECT pg_sleep(30)")


@pytest.mark.django_db
def test_the_timeout_covers_every_statement_of_a_transaction_through_pgbouncer() -> None:
    with local_pgbouncer() as bouncer, pooled_connection(bouncer, statement_timeout_ms=200) as connection:
        with pytest.raises(DatabaseError, match="statement timeout"):
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.execute("SELECT %s::int", [2])
                assert cursor.fetchone() == (2,)
                cursor.execute("SELECT pg_sleep(30)")


@pytest.mark.django_db
def test_nothing_set_through_the_pooled_connection_stays_on_the_server_connection() -> None:
    # One server connection: whatever a client leaves on it, the next client inherits.
    with local_pgbouncer(pool_size=1) as bouncer:
        with psycopg.connect(bouncer.url(), autocommit=True) as careless:
            careless.execute("SET lock_timeout = '1234ms'")
        with psycopg.connect(bouncer.url(), autocommit=True) as other:
            inherited = other.execute("SHOW lock_timeout").fetchone()
            other.execute("RESET lock_timeout")
        assert inherited == ("1234ms",), "precondition: a session SET leaks to the next client"

        with pooled_connection(bouncer, statement_timeout_ms=200) as connection:
            with transaction_settings(connection, {"lock_timeout": "777ms"}), connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
                assert cursor.fetchone() == ("777ms", "200ms")
                with transaction.atomic(using=connection.alias):
                    cursor.execute("SELECT current_setting('lock_timeout')")
                    assert cursor.fetchone() == ("777ms",)
        with psycopg.connect(bouncer.url(), autocommit=True) as after:
            assert after.execute("SHOW lock_timeout").fetchone() == ("0",)
            assert after.execute("SHOW statement_timeout").fetchone() == ("0",)


@pytest.mark.django_db
def test_statements_that_cannot_run_in_a_transaction_block_still_run_through_the_pooler() -> None:
    with local_pgbouncer() as bouncer, pooled_connection(bouncer) as connection:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS pooler_probe (id int)")
            try:
                cursor.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS pooler_probe_id ON pooler_probe (id)")
                cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'pooler_probe_id'")
                assert cursor.fetchone() == (1,)
            finally:
                cursor.execute("DROP TABLE pooler_probe")


@pytest.mark.django_db
def test_session_connections_bypass_the_pooler_through_the_direct_url() -> None:
    with local_pgbouncer() as bouncer, pooled_connection(bouncer, statement_timeout_ms=4321) as connection:
        params = session_connection_params(connection=connection)
        for name in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(name, None)
        with psycopg.connect(**params, autocommit=True) as session:
            # A real session: LISTEN is kept, and the startup statement_timeout is accepted.
            session.execute("LISTEN pooler_probe")
            row = session.execute("SELECT inet_server_port(), current_setting('statement_timeout')").fetchone()
        assert row is not None
        assert row[0] != bouncer.listen_port
        assert row[1] == "4321ms"
        assert pooled_entry(bouncer)["NAME"] == params["dbname"]


@pytest.mark.django_db
def test_the_listener_connects_around_the_pooler_when_the_suite_runs_behind_one() -> None:
    from django.db import connections

    from growthcompass.cache.listener import listener_connection_params

    if pooler_of("default") is None:
        pytest.skip("the suite runs without a pooler (make test-pgbouncer runs it behind one)")
    pooled = connections["default"].get_connection_params()
    direct = listener_connection_params()
    assert (direct.get("host"), direct.get("port")) != (pooled.get("host"), pooled.get("port"))
    with psycopg.connect(**direct, autocommit=True) as session:
        session.execute("LISTEN gc_pooler_probe")


@pytest.mark.django_db
def test_a_server_connection_lost_between_transactions_is_replaced_unseen_by_the_client() -> None:
    import time

    with local_pgbouncer(pool_size=1) as bouncer, pooled_connection(bouncer) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            first = cursor.fetchone()[0]
        with psycopg.connect(bouncer.upstream_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [first])
            for _ in range(200):  # a bounded wait for the backend to exit, not a speed limit
                if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [first]).fetchone() is None:
                    break
                time.sleep(0.05)
        time.sleep(0.2)  # PgBouncer notices the closed server socket on its next event-loop turn
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            second = cursor.fetchone()[0]
    assert second != first

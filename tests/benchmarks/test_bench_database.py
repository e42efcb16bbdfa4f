"""The benchmarks' own database: recreated on a real server, and never one that is not ``*_bench``."""

from __future__ import annotations

from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from benchmarks.dataset import create_database_if_missing, drop_database


def server_url(dbname: str) -> str:
    """A URL to ``dbname`` on the server the tests run against (unix-socket hosts percent-encoded)."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}:{db['PORT'] or 5432}/{dbname}"


def database_exists(name: str) -> bool:
    with psycopg.connect(server_url("postgres")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def test_drop_then_create_gives_an_empty_database() -> None:
    name = "gc_runner_test_bench"
    url = server_url(name)
    create_database_if_missing(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE leftover (id int)")
    open_connection = psycopg.connect(url)  # a session still attached: dropped all the same (WITH FORCE)
    try:
        drop_database(url)
        assert not database_exists(name)
        create_database_if_missing(url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('leftover')").fetchone() == (None,)
    finally:
        open_connection.close()
        drop_database(url)


def test_only_a_bench_database_is_ever_dropped() -> None:
    with pytest.raises(ValueError, match="only a \\*_bench database"):
        drop_database(server_url("growthcompass"))

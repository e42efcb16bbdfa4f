"""The benchmarks' own database: recreated on a real server, and never one that is not ``*_bench``."""

from __future__ import annotations

import psycopg
import pytest

from benchmarks.dataset import create_database_if_missing, drop_database
from tests.db.aliases import owner_database_url as suite_database_url

# Creating and dropping databases is the owner's business, not the application role's.


def database_exists(name: str) -> bool:
    with psycopg.connect(suite_database_url("postgres")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def test_drop_then_create_gives_an_empty_database() -> None:
    name = "gc_runner_test_bench"
    url = suite_database_url(name)
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
        drop_database(suite_database_url("growthcompass"))

"""sqlcommenter comments: statements name their route or origin, as pg_stat_activity shows them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import django
from django.db import connection
from django.test import Client, override_settings

from growthcompass.db.sqlcomment import add_comment, commenter, sql_comment, sql_origin

ACTIVITY = "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()"


def _own_statement() -> str:
    with connection.cursor() as cursor:
        cursor.execute(ACTIVITY)
        return str(cursor.fetchone()[0])


def test_the_comment_follows_the_sqlcommenter_format() -> None:
    assert sql_comment({"route": "/api/<str:table>/", "controller": "a.b"}) == (
        "/*controller='a.b',route='%2Fapi%2F%3Cstr%3Atable%3E%2F'*/"
    )


def test_a_value_cannot_close_the_comment() -> None:
    assert "*/" not in sql_comment({"job": "x*/; DROP TABLE students; --"})[2:-2]


def test_a_statement_with_a_comment_already_is_left_alone() -> None:
    sql = "SELECT 1 /* mine */"

    assert add_comment(sql, {"job": "x"}, has_params=False) == sql


def test_the_comment_goes_before_a_trailing_semicolon_and_escapes_percent_with_parameters() -> None:
    assert add_comment("SELECT %s;", {"job": "a/b"}, has_params=True) == "SELECT %s /*job='a%%2Fb'*/;"


def test_off_by_default_statements_carry_no_comment(db: None) -> None:
    assert commenter not in connection.execute_wrappers

    with sql_origin(job="nightly-export"):
        assert "/*" not in _own_statement()


@override_settings(SQLCOMMENTER_ENABLED=True)
def test_pg_stat_activity_shows_the_origin_of_a_statement(db: None) -> None:
    connection.ensure_connection()
    assert commenter in connection.execute_wrappers

    with sql_origin(job="nightly-export"):
        seen = _own_statement()

    assert seen.endswith("/*job='nightly-export'*/")


@override_settings(SQLCOMMENTER_ENABLED=True)
def test_a_statement_with_parameters_runs_and_carries_the_comment(db: None) -> None:
    with sql_origin(job="a/b"), connection.cursor() as cursor:
        cursor.execute(ACTIVITY + " AND %s = %s", [1, 1])
        seen = str(cursor.fetchone()[0])

    assert seen.endswith("/*job='a%2Fb'*/")


@override_settings(SQLCOMMENTER_ENABLED=True)
def test_a_request_tags_its_statements_with_the_route_pattern_and_view(staff_client: Client) -> None:
    executed: list[str] = []

    def capture(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        assert staff_client.get("/api/students/").status_code == 200

    # As sent to psycopg: with parameters, the comment's percent signs are doubled.
    tagged = [sql.replace("%%", "%") for sql in executed if "route=" in sql]
    assert tagged, executed
    assert all("route='%2Fapi%2F%3Cstr%3Atable%3E%2F'" in sql for sql in tagged), tagged
    assert all("controller='growthcompass.api.views.table_rows'" in sql for sql in tagged)
    assert any('FROM "students"' in sql or "FROM students" in sql for sql in tagged)


@override_settings(SQLCOMMENTER_ENABLED=True)
def test_a_management_command_tags_its_statements_with_its_name(db: None, monkeypatch: Any) -> None:
    from growthcompass.db import sqlcomment

    monkeypatch.setattr(sys, "argv", ["manage.py", "refresh_views"])
    monkeypatch.setattr(sqlcomment, "_process_tags", {})
    sqlcomment.install()

    assert _own_statement().endswith("/*command='refresh_views',framework='django%3A" + django.get_version() + "'*/")

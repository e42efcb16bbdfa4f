"""Statement fingerprints: values removed, structure kept."""

from __future__ import annotations

import pytest

from growthcompass.db.monitoring import fingerprint, is_read_only_statement, normalise
from growthcompass.db.monitoring.fingerprint import to_positional


def test_literals_and_placeholders_become_question_marks() -> None:
    sql = "SELECT * FROM students WHERE student_number = 'S000123' AND grade_level >= 7 AND id = %s"
    assert normalise(sql) == "SELECT * FROM students WHERE student_number = ? AND grade_level >= ? AND id = ?"


def test_the_same_statement_with_other_values_has_one_fingerprint() -> None:
    one = fingerprint("SELECT 1 FROM t WHERE a = 'x''y' AND b = 2.5e3")
    other = fingerprint("select 1   FROM t\n WHERE a = 'z' AND b = 17 -- a comment")
    assert one[0] != other[0]  # case differs: keywords are not folded
    assert one == fingerprint("SELECT 7 FROM t WHERE a = 'q' AND b = 0")


def test_in_lists_and_multi_row_values_collapse_whatever_their_length() -> None:
    assert normalise("SELECT 1 FROM t WHERE id IN (%s, %s, %s)") == normalise("SELECT 1 FROM t WHERE id IN (%s)")
    assert normalise("INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s)") == "INSERT INTO t (a, b) VALUES (...)"


def test_identifiers_with_digits_and_quoted_identifiers_are_kept() -> None:
    sql = 'SELECT U0."id", t1.col2 FROM "Table 1" U0 JOIN t1 ON t1.id = U0."id" WHERE U0."x9" = 5'
    assert normalise(sql) == 'SELECT U0."id", t1.col2 FROM "Table 1" U0 JOIN t1 ON t1.id = U0."id" WHERE U0."x9" = ?'


def test_dollar_quoted_bodies_and_escape_strings_are_literals() -> None:
    assert normalise("SELECT $$it's $1$$, E'a\\'b', $tag$x$tag$") == "SELECT ?, ?, ?"


def test_pyformat_templates_become_positional_parameters() -> None:
    assert to_positional("SELECT a FROM t WHERE b = %s AND c LIKE 'x%%' AND d = %s") == (
        "SELECT a FROM t WHERE b = $1 AND c LIKE 'x%' AND d = $2",
        2,
    )
    assert to_positional("SELECT %(a)s, %(b)s, %(a)s") == ("SELECT $1, $2, $1", 2)
    assert to_positional("SELECT * FROM t WHERE a = $1 AND b = $3") == ("SELECT * FROM t WHERE a = $1 AND b = $3", 3)
    assert to_positional("SELECT '$9' FROM t") == ("SELECT '$9' FROM t", 0)


@pytest.mark.parametrize(
    ("sql", "reads"),
    [
        ("SELECT * FROM students WHERE id = %s", True),
        ("  (SELECT 1) UNION (SELECT 2)", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),
        ("SELECT 'DELETE FROM students'", True),  # a keyword inside a string is just text
        ("INSERT INTO t VALUES (1)", False),
        ("UPDATE t SET a = 1", False),
        ("DELETE FROM t", False),
        ("WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone", False),
        ("SELECT * FROM t FOR UPDATE", False),
        ("SELECT * FROM t FOR NO KEY UPDATE", False),
        ("SELECT nextval('t_id_seq')", False),
        ("SELECT * INTO copy FROM t", False),
        ("REFRESH MATERIALIZED VIEW student_metrics_mv", False),
        ("SET statement_timeout = 0", False),
    ],
)
def test_only_statements_that_read_count_as_read_only(sql: str, reads: bool) -> None:
    assert is_read_only_statement(sql) is reads

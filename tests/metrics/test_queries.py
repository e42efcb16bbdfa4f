"""Query metrics: counted by alias and statement fingerprint, errors and slow runs apart, a bounded label set."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from growthcompass.db.monitoring import fingerprint
from growthcompass.metrics.queries import instrument
from tests.metrics.conftest import scrape, value

pytestmark = pytest.mark.usefixtures("fresh_statement_labels")


def _run(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_instrument_wraps_every_connection(db: None) -> None:
    connection.ensure_connection()

    assert instrument in connection.execute_wrappers


def test_a_statement_is_counted_under_its_fingerprint_whatever_its_values(db: None) -> None:
    sql = "SELECT %s::int + 40 AS metrics_probe_sum"
    statement, _ = fingerprint(sql)
    before = value(scrape(), "gc_db_queries_total", alias="default", statement=statement)

    _run(sql, [1])
    _run(sql, [2])
    after = scrape()

    assert value(after, "gc_db_queries_total", alias="default", statement=statement) == before + 2
    assert value(after, "gc_db_query_seconds_total", alias="default", statement=statement) > 0
    info = [labels for (name, labels) in after if name == "gc_db_statement_info" and ("statement", statement) in labels]
    assert info and ("text", "SELECT ?::int + ? AS metrics_probe_sum") in info[0]


def test_a_failing_statement_is_counted_as_an_error(db: None) -> None:
    sql = "SELECT 1 / (%s - 1) AS metrics_probe_error"
    statement, _ = fingerprint(sql)
    before = value(scrape(), "gc_db_query_errors_total", alias="default", statement=statement)

    with pytest.raises(DatabaseError), transaction.atomic():
        _run(sql, [1])
    after = scrape()

    assert value(after, "gc_db_query_errors_total", alias="default", statement=statement) == before + 1
    assert value(after, "gc_db_queries_total", alias="default", statement=statement) >= 1


def test_a_statement_slower_than_slow_query_ms_is_counted_as_slow(db: None) -> None:
    sql = "SELECT pg_sleep(%s) AS metrics_probe_slow"
    statement, _ = fingerprint(sql)
    before = value(scrape(), "gc_db_slow_queries_total", alias="default", statement=statement)

    with override_settings(SLOW_QUERY_MS=5):
        _run(sql, [0.02])  # 20 ms of sleep: past 5 ms whatever the machine's load
    # The same statement under a threshold it cannot reach is not slow. (A fast statement under a
    # low threshold was flaky: on a loaded machine a SELECT 1 took more than 5 ms.)
    with override_settings(SLOW_QUERY_MS=60_000):
        _run(sql, [0.02])
    after = scrape()

    assert value(after, "gc_db_slow_queries_total", alias="default", statement=statement) == before + 1


def test_the_latency_histogram_is_by_alias(db: None) -> None:
    before = value(scrape(), "gc_db_query_duration_seconds_count", alias="default")

    _run("SELECT 2 AS metrics_probe_histogram")

    # At least: the scrape itself runs queries of its own.
    assert value(scrape(), "gc_db_query_duration_seconds_count", alias="default") >= before + 1


@override_settings(METRICS_MAX_STATEMENTS=2)
def test_statements_past_the_limit_are_counted_as_other(db: None) -> None:
    instrument.reset()  # the limit is read when a statement is first labelled
    probes = [f"SELECT 1 AS metrics_probe_limit_{n}" for n in range(3)]
    before = value(scrape(), "gc_db_queries_total", alias="default", statement="other")

    for sql in probes:
        _run(sql)
    labelled = instrument._statements["default"].admitted()

    assert len(labelled) == 2
    folded = [sql for sql in probes if fingerprint(sql)[0] not in labelled]
    assert folded, "every probe got a label of its own past the limit"
    assert value(scrape(), "gc_db_queries_total", alias="default", statement="other") >= before + len(folded)


def test_the_scrape_s_own_queries_take_no_statement_label(db: None) -> None:
    instrument.reset()
    calls_before = sum(v for (name, _), v in scrape().items() if name == "gc_db_queries_total")
    instrument.reset()

    samples = scrape()

    assert instrument._statements.get("default") is None or not instrument._statements["default"].admitted()
    assert sum(v for (name, _), v in samples.items() if name == "gc_db_queries_total") == calls_before


def test_a_statement_under_an_audit_context_is_counted_as_the_app_sent_it(db: None, staff_user: Any) -> None:
    from auditing.context import audit_context

    sql = "SELECT %s::int AS metrics_probe_audited"
    statement, _ = fingerprint(sql)
    before = value(scrape(), "gc_db_queries_total", alias="default", statement=statement)

    with audit_context(user=staff_user, reason="metrics test"):
        _run(sql, [1])

    assert value(scrape(), "gc_db_queries_total", alias="default", statement=statement) == before + 1

"""The registries work: an app outside the project (``tests.registry_app``) takes part in each from its own files.

That app declares a cache family with its invalidation, an audited model, a
safe-query table and a health check; nothing in ``growthcompass/`` or in any
other app names it. Its writes here go through raw SQL, the path no ORM signal
sees.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from auditing.models import AuditLog
from auditing.registry import audited_tables
from growthcompass.cache.store import CacheStore
from growthcompass.db.query import InvalidQuery, count, find_many
from tests.cache.conftest import ListenerHandle
from tests.registry_app.cache import WIDGET_NAME

pytestmark = pytest.mark.django_db(transaction=True)


def _insert_widget(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO registry_widgets (name, secret) VALUES (%s, 'hidden') RETURNING id", [name])
        return int(cursor.fetchone()[0])


def _rename_widget(widget_id: int, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_widgets SET name = %s WHERE id = %s", [name, widget_id])


def test_a_raw_sql_write_invalidates_the_registered_family(cache_store: CacheStore, listener: ListenerHandle) -> None:
    widget_id = _insert_widget("first")
    listener.barrier()
    assert cache_store.get(WIDGET_NAME, widget_id) == "first"
    assert cache_store.client.get(cache_store.key("registry_widget", widget_id)) is not None, "precondition: cached"

    _rename_widget(widget_id, "second")
    listener.wait_for("registry_widget", widget_id)

    assert cache_store.client.get(cache_store.key("registry_widget", widget_id)) is None
    assert cache_store.get(WIDGET_NAME, widget_id) == "second"


def test_an_update_of_an_unwatched_column_invalidates_nothing(
    cache_store: CacheStore, listener: ListenerHandle
) -> None:
    widget_id = _insert_widget("kept")
    listener.barrier()
    assert cache_store.get(WIDGET_NAME, widget_id) == "kept"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_widgets SET secret = 'other' WHERE id = %s", [widget_id])
    listener.barrier()
    assert not listener.covers("registry_widget", widget_id)
    assert cache_store.client.get(cache_store.key("registry_widget", widget_id)) is not None


def test_raw_sql_writes_to_the_registered_model_are_audited_once() -> None:
    assert "registry_widgets" in audited_tables()
    widget_id = _insert_widget("audited")
    _rename_widget(widget_id, "audited again")
    entries = list(AuditLog.objects.for_row("registry_widgets", widget_id).order_by("id"))
    assert [entry.operation for entry in entries] == ["INSERT", "UPDATE"]
    old, new = entries[1].old_data, entries[1].new_data
    assert old is not None and old["name"] == "audited"
    assert new is not None and new["name"] == "audited again"
    assert entries[1].changed_fields == ["name"]


def test_the_query_api_serves_the_registered_table_and_only_its_listed_columns() -> None:
    widget_id = _insert_widget("served")
    rows = find_many("registry_widgets", {"name": "served"})
    assert rows == [{"id": widget_id, "name": "served"}]
    assert count("registry_widgets", {"name": "served"}) == 1
    with pytest.raises(InvalidQuery, match="unknown column 'secret'"):
        find_many("registry_widgets", {"secret": "hidden"})


def test_the_json_endpoint_serves_the_registered_table(staff_client: Client) -> None:
    widget_id = _insert_widget("over http")
    response = staff_client.get("/api/registry_widgets/", {"name": "over http"})
    assert response.status_code == 200, response.content
    payload: dict[str, Any] = response.json()
    assert [row["id"] for row in payload["rows"]] == [widget_id]
    assert "secret" not in payload["rows"][0]


def test_healthcheck_runs_the_registered_check() -> None:
    out = StringIO()
    call_command("healthcheck", "--check", "registry_widgets", "--json", stdout=out)
    assert json.loads(out.getvalue())["checks"][0]["ok"] is True

    _insert_widget("broken")
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 1 health checks failed"):
        call_command("healthcheck", "--check", "registry_widgets", "--json", stdout=out)
    check = json.loads(out.getvalue())["checks"][0]
    assert check == {**check, "name": "registry_widgets", "ok": False, "detail": "1 broken widget(s)"}


def test_cache_clear_gains_an_option_for_the_registered_entity(
    cache_store: CacheStore, listener: ListenerHandle
) -> None:
    widget_id = _insert_widget("cleared")
    listener.barrier()
    assert cache_store.get(WIDGET_NAME, widget_id) == "cleared"
    assert cache_store.client.get(cache_store.key("registry_widget", widget_id)) is not None

    out = StringIO()
    call_command("cache_clear", "--widget", str(widget_id), stdout=out)

    assert f"widget {widget_id}" in out.getvalue()
    assert cache_store.client.get(cache_store.key("registry_widget", widget_id)) is None

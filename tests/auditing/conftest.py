"""Fixtures for the audit log tests: entries written since the test began, old entries on demand."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pgtrigger
import pytest
from django.db import connection
from django.db.models import Max

from auditing.models import AuditLog

Entries = Callable[..., list[AuditLog]]


@pytest.fixture
def new_entries() -> Entries:
    """``new_entries(table=None, **filters)``: audit entries written since the fixture was set up, oldest first.

    audit_log is never flushed (Django leaves the unmanaged table alone), so
    transactional tests see earlier tests' entries; everything is relative to
    this mark.
    """
    mark = AuditLog.objects.aggregate(top=Max("id"))["top"] or 0

    def entries(table: str | None = None, **filters: Any) -> list[AuditLog]:
        queryset = AuditLog.objects.filter(id__gt=mark, **filters)
        if table is not None:
            queryset = queryset.filter(table_name=table)
        return list(queryset.order_by("id"))

    return entries


def insert_entry(
    *,
    table_name: str = "terms",
    operation: str = "INSERT",
    row_pk: str | None = "1",
    changed_at: dt.datetime,
    changed_by: int | None = None,
    new_data: dict[str, Any] | None = None,
) -> int:
    """Write an entry directly, past the ``written_by_triggers`` guard: how tests get a history in the past."""
    with pgtrigger.ignore("auditing.AuditLogGuard:written_by_triggers"), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_log (table_name, operation, row_pk, new_data, changed_at, changed_by,"
            " db_role, application_name, transaction_id) VALUES (%s, %s, %s, %s, %s, %s, current_user, 'tests', 0)"
            " RETURNING id",
            [table_name, operation, row_pk, json.dumps(new_data or {}), changed_at, changed_by],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])

"""System checks: the redaction configuration must name real columns of audited tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def check_redacted_columns(
    *, app_configs: Sequence[AppConfig] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """A misspelt column in ``AUDIT_REDACTED_COLUMNS`` would silently be copied into the log."""
    from auditing.registry import audited_models

    columns_by_table = {
        model._meta.db_table: {field.column for field in model._meta.concrete_fields} for model in audited_models()
    }
    configured: Any = settings.AUDIT_REDACTED_COLUMNS
    if not isinstance(configured, dict):
        return [Error("AUDIT_REDACTED_COLUMNS must be a dict of table name to column names.", id="auditing.E001")]
    errors: list[CheckMessage] = []
    for table, columns in configured.items():
        if table not in columns_by_table:
            errors.append(
                Error(
                    f"AUDIT_REDACTED_COLUMNS names {table!r}, which is not an audited table.",
                    hint=f"Audited tables: {', '.join(sorted(columns_by_table))}.",
                    id="auditing.E002",
                )
            )
            continue
        for column in columns:
            if column not in columns_by_table[table]:
                errors.append(
                    Error(
                        f"AUDIT_REDACTED_COLUMNS names {table}.{column}, which is not a column of {table}.",
                        id="auditing.E003",
                    )
                )
    return errors

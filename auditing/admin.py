"""The read-only audit log in the admin: a filtered list and a change page showing old → new."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from auditing.models import AuditLog, AuditOperation
from auditing.registry import audited_models, audited_tables
from auditing.triggers import redacted_columns
from growthcompass.admin_paging import EstimatedCountPaginator


class TableFilter(admin.SimpleListFilter):
    """The audited tables (a fixed list: no query over the log to build it)."""

    title = "table"
    parameter_name = "table_name"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(table, table) for table in sorted({*audited_tables(), AuditLog._meta.db_table})]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        return queryset.filter(table_name=value) if value else queryset


class InputFilter(admin.SimpleListFilter):
    """A list filter with free-text inputs instead of links (rendered by ``admin/auditing/input_filter.html``)."""

    template = "admin/auditing/input_filter.html"
    # (GET parameter, label, input type)
    inputs: tuple[tuple[str, str, str], ...] = ()

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: type[Model], model_admin: admin.ModelAdmin[Any]
    ) -> None:
        super().__init__(request, params, model, model_admin)
        for name, _, _ in self.inputs[1:]:
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [name for name, _, _ in self.inputs]

    def input_value(self, name: str) -> str:
        value = self.used_parameters.get(name, "")
        return str(value[-1] if isinstance(value, list) else value)

    # The choice has its own shape: input_filter.html renders it, not the admin's link list.
    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        own = {name for name, _, _ in self.inputs}
        yield {
            "inputs": [(name, label, kind, self.input_value(name)) for name, label, kind in self.inputs],
            # Every other active parameter rides along as a hidden field.
            "hidden": [
                (key, value)
                for key, values in changelist.params.items()
                if key not in own
                for value in (values if isinstance(values, list) else [values])
            ],
            "clear_url": changelist.get_query_string(remove=list(own)),
            "active": any(self.input_value(name) for name in own),
        }


class UserFilter(InputFilter):
    """By acting user: an id, a username, or ``none`` for changes made without a context."""

    title = "user"
    parameter_name = "user"
    inputs = (("user", "id, username or 'none'", "text"),)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.input_value("user").strip()
        if not value:
            return queryset
        if value.lower() == "none":
            return queryset.filter(changed_by__isnull=True)
        condition = Q(changed_by__username=value)
        if value.isdigit():
            condition |= Q(changed_by_id=int(value))
        return queryset.filter(condition)


def _parse_bound(value: str, *, end: bool) -> dt.datetime | None:
    """A date (the whole day) or a datetime, in the current time zone."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return None
            parsed = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time.min)
    except ValueError:
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class ChangedAtRangeFilter(InputFilter):
    """``changed_at`` from (inclusive) and until (inclusive of the whole day when a date)."""

    title = "date range"
    parameter_name = "changed_from"
    inputs = (("changed_from", "from", "date"), ("changed_until", "until", "date"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        start = _parse_bound(self.input_value("changed_from"), end=False)
        stop = _parse_bound(self.input_value("changed_until"), end=True)
        if start is not None:
            queryset = queryset.filter(changed_at__gte=start)
        if stop is not None:
            queryset = queryset.filter(changed_at__lt=stop)
        return queryset


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: str | None
    new: str | None
    changed: bool
    redacted: bool = False


def _display(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def field_changes(entry: AuditLog) -> list[FieldChange]:
    """Every column of the entry, old → new, changed ones flagged; redacted ones named but never shown."""
    old = entry.old_data if isinstance(entry.old_data, dict) else {}
    new = entry.new_data if isinstance(entry.new_data, dict) else {}
    changed = set(entry.changed_fields or [])
    names = list(dict.fromkeys([*old, *new]))
    model = next((m for m in audited_models() if m._meta.db_table == entry.table_name), None)
    if model is not None:
        order = {field.column: index for index, field in enumerate(model._meta.concrete_fields)}
        names.sort(key=lambda name: order.get(name, len(order)))
    redacted = redacted_columns(entry.table_name)
    if entry.operation == AuditOperation.UPDATE and entry.old_data is not None:
        # An UPDATE entry keeps only the changed columns' old values: an unchanged
        # column's old value is its new one.
        old = {**{name: value for name, value in new.items() if name not in changed}, **old}
    rows = [
        FieldChange(
            name=name,
            old=_display(old[name]) if name in old and old[name] is not None else None,
            new=_display(new[name]) if name in new and new[name] is not None else None,
            changed=name in changed or entry.operation != AuditOperation.UPDATE,
        )
        for name in names
    ]
    rows.extend(FieldChange(name=name, old=None, new=None, changed=name in changed, redacted=True) for name in redacted)
    return rows


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin[AuditLog]):
    list_display = (
        "id",
        "changed_at",
        "table_name",
        "operation",
        "row_pk",
        "changed_by",
        "db_role",
        "application_name",
    )
    list_display_links = ("id", "changed_at")
    list_filter = (TableFilter, "operation", UserFilter, ChangedAtRangeFilter)
    list_select_related = ("changed_by",)
    list_per_page = 50
    ordering = ("-id",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    fields = (
        "id",
        "table_name",
        "operation",
        "row_pk",
        "changed_fields",
        "changed_at",
        "changed_by",
        "db_role",
        "application_name",
        "transaction_id",
        "context_display",
    )
    readonly_fields = fields
    change_form_template = "admin/auditing/auditlog/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    @admin.display(description="context")
    def context_display(self, obj: AuditLog) -> str:
        return json.dumps(obj.context, indent=2, sort_keys=True) if obj.context else "—"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        entry = self.get_object(request, object_id)
        extra: dict[str, Any] = dict(extra_context or {})
        if entry is not None:
            changelist = reverse("admin:auditing_auditlog_changelist")
            extra["field_changes"] = field_changes(entry)
            if entry.row_pk is not None:
                extra["row_history_url"] = changelist + "?" + urlencode(
                    {"table_name": entry.table_name, "row_pk": entry.row_pk}
                )
                extra["row_admin_url"] = _row_admin_url(entry)
            extra["transaction_url"] = changelist + "?" + urlencode({"transaction_id": entry.transaction_id})
        return super().change_view(request, object_id, form_url, extra_context=extra)


def _row_admin_url(entry: AuditLog) -> str | None:
    model = next((m for m in audited_models() if m._meta.db_table == entry.table_name), None)
    if model is None or model not in admin.site._registry or entry.operation == AuditOperation.DELETE:
        return None
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[entry.row_pk])
    except NoReverseMatch:
        return None

"""The read-only admin page of captured plans."""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from growthcompass.plans.models import CapturedPlan


@admin.register(CapturedPlan)
class CapturedPlanAdmin(admin.ModelAdmin[CapturedPlan]):
    list_display = ("fingerprint", "alias", "slowest_ms", "top_node", "flagged", "captured_at", "short_statement")
    list_filter = ("alias", "explained")
    search_fields = ("fingerprint", "statement")
    readonly_fields = (
        "alias",
        "fingerprint",
        "statement",
        "slowest_ms",
        "explained",
        "note",
        "top_node",
        "total_cost",
        "findings",
        "pretty_plan",
        "captured_at",
    )
    exclude = ("plan", "template")

    @admin.display(boolean=True, description="flagged")
    def flagged(self, obj: CapturedPlan) -> bool:
        return bool(obj.findings)

    @admin.display(description="statement")
    def short_statement(self, obj: CapturedPlan) -> str:
        return obj.statement[:120]

    @admin.display(description="plan")
    def pretty_plan(self, obj: CapturedPlan) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.plan, indent=2) if obj.plan is not None else "")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CapturedPlan | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CapturedPlan | None = None) -> bool:
        return False

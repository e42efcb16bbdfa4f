"""``{% audit_history_item opts original %}``: the "Audit log" link on an audited model's change page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.db.models import Model
from django.db.models.options import Options
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from auditing.registry import is_audited

register = template.Library()


@register.simple_tag(takes_context=True)
def audit_history_item(context: dict[str, Any], opts: Options[Any] | None, original: Model | None) -> SafeString | str:
    """An ``<li>`` linking to the row's audit history, for users who may view the audit log."""
    if opts is None or original is None or original.pk is None or not is_audited(opts.model):
        return ""
    request = context.get("request")
    if request is None or not request.user.has_perm("auditing.view_auditlog"):
        return ""
    concrete = opts.model._meta.concrete_model or opts.model
    url = reverse("admin:auditing_auditlog_changelist") + "?" + urlencode(
        {"table_name": concrete._meta.db_table, "row_pk": str(original.pk)}
    )
    return format_html('<li><a href="{}" class="auditlink">Audit log</a></li>', url)

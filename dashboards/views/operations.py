"""The operations page, for administrators: health, cache hit rates, slowest statements, pools, refreshes."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse

from dashboards.selectors.operations import TOP_STATEMENTS, operations_snapshot
from dashboards.views.access import OPERATIONS_PERMISSION, render_page, requires
from growthcompass.db.monitoring.report import shorten

__all__ = ["operations_view"]


@requires(OPERATIONS_PERMISSION)
def operations_view(request: HttpRequest, site: AdminSite) -> HttpResponse:
    # ?fresh=1 (the page's "check now" link) runs the checks again instead of showing the shared result.
    snapshot = operations_snapshot(fresh_health=request.GET.get("fresh") == "1")
    report = snapshot.queries
    families = [
        {"name": name, **row, "hit_percent": None if row["hit_rate"] is None else 100 * row["hit_rate"]}
        for name, row in snapshot.cache["families"].items()
    ]
    statements = [
        {
            "text": shorten(s.statement),
            "calls": s.calls,
            "total_ms": s.total_ms,
            "mean_ms": s.mean_ms,
            "max_ms": s.max_ms,
            "alias": s.alias,
        }
        for s in report.metrics.top(TOP_STATEMENTS)
    ]
    context = {
        "title": "Operations",
        "checks": snapshot.checks,
        "checks_failing": sum(not c.ok for c in snapshot.checks),
        "checked_at": snapshot.checked_at,
        "cache": snapshot.cache,
        "families": families,
        "statements": statements,
        "slow_ms": report.slow_ms,
        "slowest": [
            {"text": shorten(s.statement), "max_ms": s.max_ms, "calls": s.calls}
            for s in report.metrics.slowest(report.slow_ms, TOP_STATEMENTS)
        ],
        "sources": report.sources,
        "server": report.server,
        "pools": report.pools,
        "refreshes": snapshot.refreshes,
    }
    return render_page(request, site, "admin/dashboards/operations.html", context)

"""What the operations page shows, read through each subsystem's public calls only.

Health checks (``growthcompass.health.run_checks``), cache statistics
(``growthcompass.cache.get_store().statistics()``), the query report
(``growthcompass.db.monitoring.report.collect_query_report``, as ``query_report``
gathers it) and the views' refresh history (``ViewRefresh``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from dashboards.models import ViewRefresh
from growthcompass.cache import get_store
from growthcompass.db.monitoring.report import QueryReport, collect_query_report
from growthcompass.health import CheckResult, run_checks

__all__ = ["REFRESH_HISTORY", "TOP_STATEMENTS", "OperationsSnapshot", "operations_snapshot"]

TOP_STATEMENTS = 10
REFRESH_HISTORY = 20


@dataclass(frozen=True)
class OperationsSnapshot:
    checks: list[CheckResult]
    cache: dict[str, Any]
    queries: QueryReport
    refreshes: list[ViewRefresh]


def operations_snapshot() -> OperationsSnapshot:
    """Everything the operations page shows, gathered now."""
    return OperationsSnapshot(
        checks=run_checks(),
        cache=get_store().statistics(),
        queries=collect_query_report(
            top=TOP_STATEMENTS, slow_ms=settings.SLOW_QUERY_MS, local=False, explain=False, analyze=False, reset=False
        ),
        refreshes=list(ViewRefresh.objects.order_by("-finished_at")[:REFRESH_HISTORY]),
    )

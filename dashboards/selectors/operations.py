"""What the operations page shows, read through each subsystem's public calls only.

Health checks (run side by side, as ``healthcheck`` runs them, and shared by
every process for ``DASHBOARDS_HEALTH_TTL_S`` seconds through the cache: a
page that several administrators keep open must not run every check, some of
them a dozen queries, on each load), cache statistics
(``growthcompass.cache.get_store().statistics()``), the query report
(``growthcompass.db.monitoring.report.collect_query_report``, as ``query_report``
gathers it) and the views' refresh history (``ViewRefresh``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from dashboards.models import ViewRefresh
from growthcompass.cache import get_store
from growthcompass.db.monitoring.report import QueryReport, collect_query_report
from growthcompass.health import CheckResult, registered_checks
from growthcompass.health.parallel import run_checks_in_parallel

__all__ = ["REFRESH_HISTORY", "TOP_STATEMENTS", "OperationsSnapshot", "health_snapshot", "operations_snapshot"]

TOP_STATEMENTS = 10
REFRESH_HISTORY = 20
HEALTH_KEY = "dashboards:operations:health"
# One deadline for all the checks, as ``healthcheck``'s default.
HEALTH_DEADLINE_S = 5.0


@dataclass(frozen=True)
class OperationsSnapshot:
    checks: list[CheckResult]
    checked_at: dt.datetime
    cache: dict[str, Any]
    queries: QueryReport
    refreshes: list[ViewRefresh]


def health_snapshot(*, fresh: bool = False) -> tuple[list[CheckResult], dt.datetime]:
    """Every health check's result and when they ran: at most ``DASHBOARDS_HEALTH_TTL_S`` old unless ``fresh``."""
    if not fresh:
        cached = cache.get(HEALTH_KEY)
        if cached is not None:
            checks, checked_at = cached
            return list(checks), checked_at
    checks = run_checks_in_parallel(registered_checks(), timeout_s=HEALTH_DEADLINE_S)
    checked_at = timezone.now()
    if settings.DASHBOARDS_HEALTH_TTL_S > 0:
        cache.set(HEALTH_KEY, (checks, checked_at), timeout=settings.DASHBOARDS_HEALTH_TTL_S)
    return checks, checked_at


def operations_snapshot(*, fresh_health: bool = False) -> OperationsSnapshot:
    """Everything the operations page shows: the health checks as of ``health_snapshot``, the rest gathered now."""
    checks, checked_at = health_snapshot(fresh=fresh_health)
    return OperationsSnapshot(
        checks=checks,
        checked_at=checked_at,
        cache=get_store().statistics(),
        queries=collect_query_report(
            top=TOP_STATEMENTS, slow_ms=settings.SLOW_QUERY_MS, local=False, explain=False, analyze=False, reset=False
        ),
        refreshes=list(ViewRefresh.objects.order_by("-finished_at")[:REFRESH_HISTORY]),
    )

"""The ``migrations`` health check: ``migrate_validate`` as a health result."""

from __future__ import annotations

from growthcompass.health import CheckResult, register
from growthcompass.schema.validation import migrations_validate


@register("migrations")
def migrations_check() -> CheckResult:
    report = migrations_validate()
    detail = report.summary() if report.ok else "; ".join(problem.line() for problem in report.problems)
    return CheckResult(name="migrations", ok=report.ok, detail=detail, data=report.as_dict())

"""Health check: row-level security is in force (``growthcompass.rls.checks``)."""

from __future__ import annotations

from growthcompass.health import CheckResult, register
from growthcompass.rls.checks import rls_report


@register("row_level_security")
def row_level_security_check() -> CheckResult:
    report = rls_report()
    data = {"role": report.role, "tables": len(report.tables), "policies": report.policies}
    if report.problems:
        return CheckResult("row_level_security", False, "; ".join(report.problems), data=data)
    return CheckResult(
        "row_level_security",
        True,
        f"{len(report.tables)} tables forced, {report.policies} policies, application role {report.role}",
        data=data,
    )

"""The ``audit_triggers`` health check: every audit trigger installed, enabled and current."""

from __future__ import annotations

from growthcompass.health import CheckResult, register


@register("audit_triggers")
def audit_triggers_check() -> CheckResult:
    from auditing.selectors import audit_trigger_status

    statuses = audit_trigger_status()
    broken = [status for status in statuses if not status.ok]
    if not broken:
        return CheckResult(
            name="audit_triggers", ok=True, detail=f"{len(statuses)} audit triggers installed and enabled"
        )
    problems = [
        f"{s.table}.{s.trigger}: "
        + ("missing" if not s.installed else "disabled" if not s.enabled else "outdated (run migrate)")
        for s in broken
    ]
    return CheckResult(
        name="audit_triggers",
        ok=False,
        detail="; ".join(problems),
        data={"broken": [s.pgid for s in broken]},
    )

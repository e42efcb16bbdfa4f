"""Reads of the captured plans, for ``query_report --plans``."""

from __future__ import annotations

from typing import Any

from growthcompass.plans.models import CapturedPlan

__all__ = ["captured_plans", "plans_as_dicts", "plans_as_text"]


def captured_plans(*, limit: int = 20) -> list[CapturedPlan]:
    """The most recently captured plans, slowest first among them."""
    recent = list(CapturedPlan.objects.order_by("-captured_at")[:limit])
    return sorted(recent, key=lambda plan: plan.slowest_ms, reverse=True)


def plans_as_dicts(plans: list[CapturedPlan]) -> list[dict[str, Any]]:
    return [
        {
            "alias": plan.alias,
            "fingerprint": plan.fingerprint,
            "statement": plan.statement,
            "slowest_ms": plan.slowest_ms,
            "explained": plan.explained,
            "note": plan.note,
            "top_node": plan.top_node,
            "total_cost": plan.total_cost,
            "findings": plan.findings,
            "plan": plan.plan,
            "captured_at": plan.captured_at.isoformat(),
        }
        for plan in plans
    ]


def plans_as_text(plans: list[CapturedPlan]) -> str:
    if not plans:
        return "Captured plans: none (no statement has run slower than SLOW_QUERY_MS since they were kept)."
    lines = [f"Captured plans ({len(plans)}), slowest first:"]
    for plan in plans:
        lines.append(
            f"  [{plan.fingerprint}] {plan.alias} {plan.slowest_ms:.1f} ms, captured {plan.captured_at:%Y-%m-%d %H:%M}"
        )
        lines.append(f"    {plan.statement[:300]}")
        if plan.explained:
            cost = f", cost {plan.total_cost:.1f}" if plan.total_cost is not None else ""
            lines.append(f"    plan: {plan.top_node}{cost}")
        else:
            lines.append(f"    {plan.note}")
        lines.extend(f"    ! {finding}" for finding in plan.findings)
    return "\n".join(lines)

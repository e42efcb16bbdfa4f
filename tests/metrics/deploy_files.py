"""The monitoring files under ``deploy/``: where they are and the metric names their expressions use."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERT_RULES = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
DASHBOARD = DEPLOY / "grafana" / "growthcompass.json"

_METRIC_NAME = re.compile(r"\bgc_[a-z0-9_]+\b")
MISSING_PROMETHEUS = "promtool / prometheus not installed: run `make prometheus-deps` (Debian's prometheus package)"


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def dashboard_expressions(*, variables: bool = True) -> list[str]:
    """The panels' PromQL, and (``variables``) the template variables' queries, which are Grafana's own syntax."""
    expressions = [
        target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", []) if "expr" in target
    ]
    if not variables:
        return expressions
    expressions += [
        variable["query"]["query"]
        for variable in dashboard()["templating"]["list"]
        if isinstance(variable.get("query"), dict)
    ]
    return expressions


def alert_expressions_text() -> str:
    """The ``expr:`` parts of the rules file (annotations name no series)."""
    lines = ALERT_RULES.read_text(encoding="utf-8").splitlines()
    kept, in_expr = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("expr:"):
            in_expr = True
            kept.append(stripped[len("expr:") :])
        elif in_expr and stripped and not re.match(r"^[a-z_]+:", stripped) and not stripped.startswith("- "):
            kept.append(stripped)
        else:
            in_expr = False
    return "\n".join(kept)


def metric_names(text: str) -> set[str]:
    return set(_METRIC_NAME.findall(text))


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(MISSING_PROMETHEUS)
    return path

"""Health checks: a registry that each feature adds its checks to.

A check is a function returning a ``CheckResult``; ``run_checks`` times each
one and turns an exception into a failed result, so one broken dependency
never hides the state of the others. Each app registers its checks with
``@register(name)`` in its own ``health.py``, which ``discover_checks()``
imports for every installed app (``autodiscover_modules``, as the admin finds
``admin.py``), once, when the infrastructure app is ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

CheckFunction = Callable[[], "CheckResult"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    duration_ms: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, CheckFunction] = {}

__all__ = ["CheckResult", "discover_checks", "human_duration", "register", "registered_checks", "run_checks"]


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``func`` as the health check called ``name`` (re-registering replaces it)."""

    def decorator(func: CheckFunction) -> CheckFunction:
        _REGISTRY[name] = func
        return func

    return decorator


def discover_checks() -> None:
    """Import every installed app's ``health`` module (the infrastructure's own checks first)."""
    from django.utils.module_loading import autodiscover_modules

    from growthcompass.health import database  # noqa: F401 - the database, replica and migrations checks

    autodiscover_modules("health")


def registered_checks() -> list[str]:
    return list(_REGISTRY)


def run_checks(names: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the named checks (all by default), in registration order."""
    wanted = list(_REGISTRY) if names is None else list(names)
    unknown = [name for name in wanted if name not in _REGISTRY]
    if unknown:
        raise KeyError(f"Unknown health checks: {', '.join(unknown)}; known: {', '.join(_REGISTRY)}")
    results = []
    for name in wanted:
        started = time.perf_counter()
        try:
            result = _REGISTRY[name]()
        except Exception as exc:  # a failing dependency is a result, not a crash
            result = CheckResult(name=name, ok=False, detail=f"{type(exc).__name__}: {exc}")
        elapsed_ms = (time.perf_counter() - started) * 1000
        results.append(
            CheckResult(name=result.name, ok=result.ok, detail=result.detail, duration_ms=elapsed_ms, data=result.data)
        )
    return results


def human_duration(seconds: float) -> str:
    """``95`` -> ``1 min 35 s``; ``7300`` -> ``2 h 1 min``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days {hours % 24} h"

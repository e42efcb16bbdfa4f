"""Health checks: a registry that each feature adds its checks to.

A check is a function returning a ``CheckResult``; ``run_checks`` times each
one and turns an exception into a failed result, so one broken dependency
never hides the state of the others. Features register their checks from
their ``AppConfig.ready()`` (import the module that holds the decorated
functions).
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


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``func`` as the health check called ``name`` (re-registering replaces it)."""

    def decorator(func: CheckFunction) -> CheckFunction:
        _REGISTRY[name] = func
        return func

    return decorator


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

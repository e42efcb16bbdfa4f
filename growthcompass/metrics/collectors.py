"""Scrape-time collectors: numbers read when ``/metrics`` is asked, registered by whoever owns them.

Some numbers are not counted by a process but are a state of the system --
a materialized view's age, the replica's lag, the audit volume. They are read
on each scrape, in the process that serves it, by a function returning
prometheus metric families. Apps register theirs in their own ``metrics.py``
(found by ``MetricsConfig.ready()`` the way the admin finds ``admin.py``)::

    from growthcompass.metrics import GaugeMetricFamily, register_collector

    @register_collector("materialized_views")
    def view_metrics():
        yield GaugeMetricFamily("gc_view_age_seconds", "...", value=...)

A collector that raises is reported as ``gc_metrics_collector_up{collector} 0``
and the rest of the scrape goes on. ``cache_s`` keeps a collector's result
that long, for numbers that are costly to compute and change slowly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

__all__ = [
    "CollectorFunction",
    "RegisteredCollectors",
    "register_collector",
    "registered_collectors",
    "unregister_collector",
]

logger = logging.getLogger("growthcompass.metrics")

CollectorFunction = Callable[[], Iterable[Metric]]


@dataclass
class _Entry:
    name: str
    function: CollectorFunction
    cache_s: float
    cached: list[Metric] = field(default_factory=list)
    cached_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_REGISTRY: dict[str, _Entry] = {}


def register_collector(name: str, *, cache_s: float = 0.0) -> Callable[[CollectorFunction], CollectorFunction]:
    """Register ``function`` as the scrape-time collector ``name`` (re-registering replaces it)."""

    def decorator(function: CollectorFunction) -> CollectorFunction:
        _REGISTRY[name] = _Entry(name=name, function=function, cache_s=cache_s)
        return function

    return decorator


def unregister_collector(name: str) -> None:
    """Remove the collector ``name`` (a test's temporary one, say); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def registered_collectors() -> list[str]:
    return list(_REGISTRY)


def _run(entry: _Entry) -> tuple[list[Metric], bool, float]:
    started = time.perf_counter()
    now = time.monotonic()
    with entry.lock:
        if entry.cache_s and now < entry.cached_until:
            return entry.cached, True, 0.0
        try:
            families = list(entry.function())
        except Exception:
            logger.exception("metrics collector %s failed", entry.name)
            return [], False, time.perf_counter() - started
        if entry.cache_s:
            entry.cached, entry.cached_until = families, now + entry.cache_s
    return families, True, time.perf_counter() - started


class RegisteredCollectors:
    """A prometheus_client collector running every registered function, one failure isolated from the rest."""

    def __init__(self, names: Iterable[str] | None = None) -> None:
        self.names = None if names is None else list(names)

    def describe(self) -> list[Metric]:
        # Not describing keeps registration from running every collector once.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "gc_metrics_collector_up",
            "1 when the scrape-time collector answered, 0 when it raised.",
            labels=["collector"],
        )
        duration = GaugeMetricFamily(
            "gc_metrics_collector_duration_seconds",
            "Time the scrape-time collector took (0 when served from its cache).",
            labels=["collector"],
        )
        for entry in list(_REGISTRY.values()):
            if self.names is not None and entry.name not in self.names:
                continue
            families, ok, seconds = _run(entry)
            up.add_metric([entry.name], 1.0 if ok else 0.0)
            duration.add_metric([entry.name], seconds)
            yield from families
        yield up
        yield duration

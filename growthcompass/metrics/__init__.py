"""Prometheus metrics: ``/metrics`` for requests, queries, pools, the cache and what apps register.

* Per-process instruments (``instruments``), fed by the request middleware
  (``middleware.MetricsMiddleware``), a query ``execute_wrapper``
  (``queries``) and the pool figures (``process``); summed across workers
  in prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``).
* Scrape-time collectors (``collectors``), read when ``/metrics`` is asked:
  the infrastructure's own (``system``: cache, Redis, replica, migrations)
  and those apps register in their ``metrics.py`` with ``register_collector``.
* Every number from another subsystem is read in ``sources``.

Reference: docs/metrics.md.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from growthcompass.metrics.collectors import register_collector, registered_collectors, unregister_collector
from growthcompass.metrics.labels import OTHER

__all__ = [
    "OTHER",
    "CounterMetricFamily",
    "GaugeMetricFamily",
    "register_collector",
    "registered_collectors",
    "unregister_collector",
]

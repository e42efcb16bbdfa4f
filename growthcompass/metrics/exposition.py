"""Build the scrape's registry and render it in the Prometheus text format.

Single process: the instruments' own registry. Multiprocess mode (the
``PROMETHEUS_MULTIPROC_DIR`` environment variable set before the workers
start, one directory shared by them, emptied before each start): every
worker writes its instruments to files there and ``MultiProcessCollector``
sums them, so whichever worker serves the scrape reports the deployment's
totals. The scrape-time collectors run in the serving worker in both cases.
"""

from __future__ import annotations

import os
import threading

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from growthcompass.metrics.collectors import RegisteredCollectors
from growthcompass.metrics.instruments import PROCESS_REGISTRY
from growthcompass.metrics.process import sync_process_metrics
from growthcompass.metrics.queries import instrument

__all__ = ["multiprocess_directory", "render", "scrape_registry"]

_lock = threading.Lock()
_registries: dict[str | None, CollectorRegistry] = {}


def multiprocess_directory() -> str | None:
    """The multiprocess directory, when prometheus_client's multiprocess mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def scrape_registry() -> CollectorRegistry:
    """The registry one scrape reads (built once per mode)."""
    directory = multiprocess_directory()
    with _lock:
        registry = _registries.get(directory)
        if registry is None:
            registry = CollectorRegistry(auto_describe=False)
            if directory:
                MultiProcessCollector(registry, path=directory)
            else:
                registry.register(PROCESS_REGISTRY)  # a registry is itself a collector
            registry.register(RegisteredCollectors())
            _registries[directory] = registry
    return registry


def render(accept: str | None = None) -> tuple[bytes, str]:
    """``(body, content type)`` of one scrape, in the format ``accept`` asks for (text by default)."""
    sync_process_metrics(force=True)
    encoder, content_type = choose_encoder(accept or "")
    # The collectors' own queries are not the application's: they would take statement
    # labels (first come, first kept) from the statements the dashboards are about.
    with instrument.paused():
        return encoder(scrape_registry()), content_type

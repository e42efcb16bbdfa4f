"""Settings of the Prometheus exporter, one accessor each, defaults written once.

``METRICS_ENABLED``
    Count requests and queries and serve ``/metrics`` (default on). Off, the
    middleware and the query wrapper step aside and ``/metrics`` answers 404.
``METRICS_TOKEN``
    The bearer token a scraper must send (``Authorization: Bearer <token>``).
    Without one, ``/metrics`` is open outside production and refused in production.
``METRICS_MAX_ROUTES`` / ``METRICS_MAX_STATEMENTS``
    How many distinct route patterns / statement fingerprints (per alias) a
    process labels on their own; later ones are counted under ``other``, so the
    number of series stays bounded whatever the traffic.
``METRICS_AUDIT_WINDOW_S``
    The window of the audit volume gauge (rows written in the last N seconds).
"""

from __future__ import annotations

from django.conf import settings

__all__ = [
    "audit_window_s",
    "enabled",
    "is_production",
    "max_routes",
    "max_statements",
    "token",
]


def enabled() -> bool:
    """Whether requests and queries are counted and ``/metrics`` is served."""
    return bool(getattr(settings, "METRICS_ENABLED", True))


def token() -> str:
    """The bearer token ``/metrics`` requires; empty means none is configured."""
    return str(getattr(settings, "METRICS_TOKEN", "") or "")


def is_production() -> bool:
    return getattr(settings, "DJANGO_ENV", "development") == "production"


def max_routes() -> int:
    """Distinct route patterns labelled per process before the rest fold into ``other``."""
    return int(getattr(settings, "METRICS_MAX_ROUTES", 30))


def max_statements() -> int:
    """Distinct statement fingerprints labelled per alias and process before the rest fold into ``other``."""
    return int(getattr(settings, "METRICS_MAX_STATEMENTS", 40))


def audit_window_s() -> int:
    """Seconds over which ``gc_audit_rows_recent`` counts audit rows."""
    return int(getattr(settings, "METRICS_AUDIT_WINDOW_S", 300))

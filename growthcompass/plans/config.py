"""Settings of the plan capture, one accessor each."""

from __future__ import annotations

from django.conf import settings

__all__ = ["capture_enabled", "max_per_minute", "max_rows", "recapture_s"]


def capture_enabled() -> bool:
    """``PLANS_CAPTURE``: explain slow statements automatically (on by default)."""
    return bool(getattr(settings, "PLANS_CAPTURE", True))


def max_rows() -> int:
    """``PLANS_MAX_ROWS``: captured plans kept; the least recently captured go first."""
    return int(getattr(settings, "PLANS_MAX_ROWS", 200))


def recapture_s() -> float:
    """``PLANS_RECAPTURE_S``: a statement is explained again at most this often."""
    return float(getattr(settings, "PLANS_RECAPTURE_S", 3600.0))


def max_per_minute() -> int:
    """``PLANS_MAX_PER_MINUTE``: explains one process runs per minute at most."""
    return int(getattr(settings, "PLANS_MAX_PER_MINUTE", 6))

"""The partitioning settings, one accessor each, the default written once."""

from __future__ import annotations

import zoneinfo

from django.conf import settings


def periods_ahead() -> int:
    """``PARTITIONS_AHEAD`` (default 3): months after the current one whose partitions must exist."""
    return int(getattr(settings, "PARTITIONS_AHEAD", 3))


def lock_timeout_ms() -> int:
    """``PARTITIONS_LOCK_TIMEOUT_MS`` (default 5000): how long partition DDL waits for a lock before giving up.

    Creating, attaching, detaching or dropping a partition needs a lock that
    live traffic may hold; waiting for it without a bound would queue every
    later writer behind the DDL.
    """
    return int(getattr(settings, "PARTITIONS_LOCK_TIMEOUT_MS", 5_000))


def boundary_zone() -> zoneinfo.ZoneInfo:
    """Months start at midnight in ``TIME_ZONE``, so a staff member's "this month" is one partition."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def refused_for_lock(exc: Exception, *, what: str) -> str | None:
    """The one-line refusal for ``exc`` when it is a lock not granted within the timeout, else None.

    ``partitions_maintain`` and ``audit_prune`` both ask for their locks with
    ``PARTITIONS_LOCK_TIMEOUT_MS`` and change nothing when one is not granted.
    """
    if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
        return None
    return (
        f"A lock on {what} was not granted within {lock_timeout_ms()} ms (PARTITIONS_LOCK_TIMEOUT_MS); "
        "nothing was changed. Run it again."
    )

"""Queue slow statements in the request's thread; explain and keep them in a worker thread.

``offer`` is all the slow query pays: a few dict lookups and a
``put_nowait`` (a full queue drops the statement). The worker runs
``explain_statement`` over a direct connection (not Django's, so it is not
itself counted), then writes the row with Django's ORM with tracking and
counting paused, and trims the table to ``PLANS_MAX_ROWS``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass

from django.utils import timezone

from growthcompass.db.monitoring import explain_statement, fingerprint, tracking_paused
from growthcompass.metrics.queries import instrument
from growthcompass.plans import config

__all__ = ["PlanCapture", "capturer", "offer"]

logger = logging.getLogger("growthcompass.plans")

QUEUE_SIZE = 32


@dataclass(frozen=True)
class _Slow:
    alias: str
    template: str
    seconds: float


class PlanCapture:
    """Rate limits, the queue and the worker thread of one process."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Slow | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._last: dict[tuple[str, str], float] = {}
        self._minute_started = 0.0
        self._this_minute = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.idle = threading.Event()
        self.idle.set()

    def offer(self, alias: str, template: str, seconds: float) -> bool:
        """Queue ``template`` for explaining unless a limit says no; ``True`` when queued."""
        if not config.capture_enabled():
            return False
        now = time.monotonic()
        key = (alias, fingerprint(template)[0])  # slow statements are rare: the regexes may run here
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < config.recapture_s():
                return False
            if now - self._minute_started >= 60.0:
                self._minute_started, self._this_minute = now, 0
            if self._this_minute >= config.max_per_minute():
                return False
            try:
                self._queue.put_nowait(_Slow(alias, template, seconds))
            except queue.Full:
                return False
            self._this_minute += 1
            if len(self._last) > 4 * config.max_rows():
                self._last.clear()
            self._last[key] = now
            self.idle.clear()
            self._ensure_worker()
        return True

    def _ensure_worker(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="growthcompass-plan-capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from django.db import connections

        while True:
            item = self._queue.get()
            if item is None:
                break
            try:
                with tracking_paused(), instrument.paused():
                    self._capture(item)
            except Exception:
                logger.exception("could not capture the plan of a slow statement")
            finally:
                if self._queue.empty():
                    connections.close_all()
                    self.idle.set()

    def _capture(self, item: _Slow) -> None:
        from growthcompass.plans.models import CapturedPlan

        fingerprint_id, normalised = fingerprint(item.template)
        result = explain_statement(item.template, using=item.alias)
        CapturedPlan.objects.update_or_create(
            alias=item.alias,
            fingerprint=fingerprint_id,
            defaults={
                "statement": normalised,
                "template": item.template[:20_000],
                "slowest_ms": item.seconds * 1000.0,
                "explained": result.explained,
                "note": result.note,
                "plan": result.plan,
                "top_node": result.top_node,
                "total_cost": result.total_cost,
                "findings": [finding.detail for finding in result.findings],
                "captured_at": timezone.now(),
            },
        )
        keep = CapturedPlan.objects.order_by("-captured_at").values_list("pk", flat=True)[: config.max_rows()]
        CapturedPlan.objects.exclude(pk__in=list(keep)).delete()

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until the queue is drained (tests, and a command about to exit)."""
        return self.idle.wait(timeout_s)

    def forget_limits(self) -> None:
        with self._lock:
            self._last.clear()
            self._this_minute = 0


capturer = PlanCapture()


def offer(alias: str, template: str, seconds: float) -> None:
    """The slow-statement hook registered with the query instrument."""
    capturer.offer(alias, template, seconds)

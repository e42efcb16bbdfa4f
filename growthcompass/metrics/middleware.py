"""Count and time HTTP requests by route pattern, method and status.

The route is the URL pattern that matched (``api/<str:table>/``), never the
raw path, so ``/api/students/`` and ``/api/courses/`` are one series and a
scanner's thousand made-up paths are one too (``other``, with every
unresolved path). Installed first in ``MIDDLEWARE`` so the time covers the
other middleware as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from growthcompass.metrics import config
from growthcompass.metrics.instruments import HTTP_REQUEST_DURATION, HTTP_REQUESTS
from growthcompass.metrics.labels import OTHER, BoundedLabels
from growthcompass.metrics.process import sync_process_metrics

__all__ = ["MetricsMiddleware", "route_of"]

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The matched URL pattern with a leading slash, or ``other`` when nothing matched."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return OTHER
    return "/" + match.route.lstrip("^").rstrip("$")


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.enabled = config.enabled()
        self.routes = BoundedLabels(config.max_routes())

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not self.enabled:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = self.routes.fold(route_of(request))
        method = request.method if request.method in KNOWN_METHODS else OTHER
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_REQUEST_DURATION.labels(route).observe(seconds)
        sync_process_metrics()
        return response

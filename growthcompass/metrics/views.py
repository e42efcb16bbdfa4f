"""``GET /metrics``: the Prometheus scrape endpoint, behind a bearer token.

With ``METRICS_TOKEN`` set, a request without ``Authorization: Bearer <token>``
gets 401. Without one, the endpoint is open in development and tests (on a
developer's loopback) and refused with 403 in production, where exposing the
figures unauthenticated is never what was meant.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from growthcompass.metrics import config
from growthcompass.metrics.exposition import render
from growthcompass.rls import rls_system_context

__all__ = ["metrics_view"]


def _refused(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not config.enabled():
        raise Http404("metrics are disabled (METRICS_ENABLED)")
    expected = config.token()
    if not expected:
        if config.is_production():
            return _refused(403, "/metrics is refused in production until METRICS_TOKEN is set")
    else:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not constant_time_compare(given.strip(), expected):
            return _refused(401, "a bearer token is required (Authorization: Bearer <METRICS_TOKEN>)")
    # The scrape-time collectors count school-wide rows (audit activity, attendance): a declared
    # system scope, since a scrape carries no user. Only aggregates leave this view.
    with rls_system_context(reason="metrics scrape"):
        body, content_type = render(request.headers.get("Accept"))
    return HttpResponse(body, content_type=content_type)

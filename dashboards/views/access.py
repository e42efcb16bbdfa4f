"""Who may see which dashboard page, and the admin context every page renders in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

__all__ = [
    "OPERATIONS_PERMISSION",
    "READ_PERMISSION",
    "REFRESH_PERMISSION",
    "bad_filter",
    "render_page",
    "requires",
]

# The pages show the metrics: whoever may view the metrics admin may view them.
READ_PERMISSION = "dashboards.view_studentmetrics"
# Defined on ViewRefresh (dashboards/models.py); superusers hold every permission.
REFRESH_PERMISSION = "dashboards.refresh_views"
OPERATIONS_PERMISSION = "dashboards.view_operations"

View = Callable[..., HttpResponse]


def requires(permission: str) -> Callable[[View], View]:
    """403 unless the (already logged-in staff) user holds ``permission``; the admin handles the login."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied(f"{permission} is needed to see this page")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def render_page(
    request: HttpRequest, site: AdminSite, template: str, context: dict[str, Any], *, status: int = 200
) -> TemplateResponse:
    """Render ``template`` with the admin's own context (nav sidebar, theme, user links)."""
    full = {
        **site.each_context(request),
        "can_refresh": request.user.has_perm(REFRESH_PERMISSION),
        "can_see_operations": request.user.has_perm(OPERATIONS_PERMISSION),
        **context,
    }
    return TemplateResponse(request, template, full, status=status)


def bad_filter(request: HttpRequest, site: AdminSite, error: Exception, title: str) -> TemplateResponse:
    """The page's title and the reason its filters were refused, answered with 400 Bad Request."""
    return render_page(
        request, site, "admin/dashboards/bad_filter.html", {"title": title, "filter_error": str(error)}, status=400
    )

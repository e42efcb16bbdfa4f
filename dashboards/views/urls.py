"""The dashboard's URLs, added to the admin site by ``StudentMetricsAdmin.get_urls``.

Every view goes through ``AdminSite.admin_view``: the admin's login page for
anonymous users, the admin's staff check, and no caching of the response.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.admin import AdminSite
from django.urls import URLPattern, path

from dashboards.views.course import course_view
from dashboards.views.operations import operations_view
from dashboards.views.school import refresh_view, school_view
from dashboards.views.student import student_view

__all__ = ["dashboard_urls"]


def dashboard_urls(site: AdminSite) -> list[URLPattern]:
    """``dashboard/`` (overview), ``dashboard/student/<id>/``, ``dashboard/course/<id>/``, ``dashboard/operations/``."""

    def wrap(view: Any) -> Any:
        return site.admin_view(functools.partial(view, site=site))

    return [
        path("dashboard/", wrap(school_view), name="dashboards_school"),
        path("dashboard/refresh/", wrap(refresh_view), name="dashboards_refresh"),
        path("dashboard/student/<int:student_id>/", wrap(student_view), name="dashboards_student"),
        path("dashboard/course/<int:course_id>/", wrap(course_view), name="dashboards_course"),
        path("dashboard/operations/", wrap(operations_view), name="dashboards_operations"),
    ]

"""The staff dashboard's pages, served inside the admin site (``dashboards.admin`` adds their URLs).

* ``school`` -- the overview: grades, the weekly rate, the at-risk lists, the refresh button.
* ``student`` / ``course`` -- one student's and one course's page.
* ``operations`` -- health, cache, statements, pools and refreshes, for administrators.
"""

from __future__ import annotations

from dashboards.views.urls import dashboard_urls

__all__ = ["dashboard_urls"]

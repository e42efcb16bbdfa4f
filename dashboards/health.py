"""Health check: every materialized view is populated and younger than ``VIEWS_MAX_AGE_S``."""

from __future__ import annotations

from django.conf import settings
from django.db import connections

from dashboards.models import stored_view
from dashboards.refresh import MATERIALIZED_VIEWS, view_age
from growthcompass.health import CheckResult, human_duration, register


@register("materialized_views")
def materialized_views_check() -> CheckResult:
    limit = settings.VIEWS_MAX_AGE_S
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT matviewname, ispopulated FROM pg_matviews WHERE matviewname = ANY(%s)",
            [[stored_view(view) for view in MATERIALIZED_VIEWS]],
        )
        stored = dict(cursor.fetchall())
    populated = {view: stored[stored_view(view)] for view in MATERIALIZED_VIEWS if stored_view(view) in stored}
    problems = []
    data = {}
    for view in MATERIALIZED_VIEWS:
        age = view_age(view)
        data[view] = {"age_s": None if age is None else age.total_seconds(), "populated": populated.get(view)}
        if view not in populated:
            problems.append(f"{view} does not exist (run manage.py migrate)")
        elif not populated[view]:
            problems.append(f"{view} is not populated (run manage.py refresh_views)")
        elif age is None:
            problems.append(f"{view} has no recorded refresh (run manage.py refresh_views)")
        elif age.total_seconds() > limit:
            problems.append(
                f"{view} is {human_duration(age.total_seconds())} old (limit {human_duration(limit)}; "
                "run manage.py refresh_views)"
            )
    if problems:
        return CheckResult("materialized_views", False, "; ".join(problems), data=data)
    ages = ", ".join(f"{view} {human_duration(data[view]['age_s'] or 0)} old" for view in MATERIALIZED_VIEWS)
    return CheckResult("materialized_views", True, ages, data=data)

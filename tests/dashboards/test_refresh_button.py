"""The dashboard's refresh button: every view refreshed through the single-flight service, a clash is a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dashboards.models import STUDENT_METRICS_VIEW, ViewRefresh
from dashboards.refresh import MATERIALIZED_VIEWS, refresh_lock_key
from tests.dashboards.dashboard_school import SmallSchool, build_small_school

pytestmark = pytest.mark.django_db

REFRESH = reverse("admin:dashboards_refresh")


@pytest.fixture
def school(private_cache: None) -> SmallSchool:
    return build_small_school()


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_button_refreshes_every_view_and_says_so(staff_client: Client, school: SmallSchool) -> None:
    before = ViewRefresh.objects.filter(source=ViewRefresh.Source.API).count()
    response = staff_client.post(REFRESH, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("admin:dashboards_school"), 302)]
    (message,) = _messages(response)
    assert message.startswith("Refreshed ") and all(view in message for view in MATERIALIZED_VIEWS)
    assert ViewRefresh.objects.filter(source=ViewRefresh.Source.API).count() == before + len(MATERIALIZED_VIEWS)


# Committed: under ``db`` the test's own transaction would still hold the refresh locks its
# set-up took (transaction-level advisory locks), and the other session would wait on them.
@pytest.mark.django_db(transaction=True)
def test_a_refresh_already_running_gives_a_message_not_an_error(
    staff_client: Client, school: SmallSchool, other_session: Callable[..., Any]
) -> None:
    before = {view: ViewRefresh.objects.filter(view_name=view).count() for view in MATERIALIZED_VIEWS}
    holder = other_session()
    holder.execute("SET lock_timeout = '10s'")  # a guard against hanging, never a speed limit
    holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(refresh_lock_key(STUDENT_METRICS_VIEW)))
    response = staff_client.post(REFRESH, follow=True)
    assert response.status_code == 200
    messages = _messages(response)
    assert f"A refresh of {STUDENT_METRICS_VIEW} is already running; try again when it has finished." in messages
    after = {view: ViewRefresh.objects.filter(view_name=view).count() for view in MATERIALIZED_VIEWS}
    # The busy view was not refreshed (nor recorded as failed); the others were not held up by it.
    assert after == {view: before[view] + (view != STUDENT_METRICS_VIEW) for view in MATERIALIZED_VIEWS}


def test_a_get_refreshes_nothing(staff_client: Client, school: SmallSchool) -> None:
    before = ViewRefresh.objects.count()
    response = staff_client.get(REFRESH)
    assert response.status_code == 302
    assert ViewRefresh.objects.count() == before

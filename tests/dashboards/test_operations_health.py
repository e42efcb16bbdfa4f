"""The operations page's health checks: run side by side, their result shared for a few seconds."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from dashboards.selectors.operations import HEALTH_KEY, health_snapshot
from growthcompass.health import registered_checks

pytestmark = pytest.mark.django_db

OPERATIONS = reverse("admin:dashboards_operations")


@pytest.fixture(autouse=True)
def _no_shared_result() -> None:
    cache.delete(HEALTH_KEY)


@override_settings(DASHBOARDS_HEALTH_TTL_S=60)
def test_every_check_runs_once_and_the_result_is_shared_until_it_expires() -> None:
    checks, checked_at = health_snapshot()
    assert [c.name for c in checks] == registered_checks()
    assert cache.get(HEALTH_KEY) is not None

    again, again_at = health_snapshot()
    assert again_at == checked_at, "the shared result is served, the checks do not run again"
    assert [(c.name, c.ok, c.detail) for c in again] == [(c.name, c.ok, c.detail) for c in checks]

    _, fresh_at = health_snapshot(fresh=True)
    assert fresh_at > checked_at


@override_settings(DASHBOARDS_HEALTH_TTL_S=0)
def test_a_zero_ttl_shares_nothing() -> None:
    _, first = health_snapshot()
    assert cache.get(HEALTH_KEY) is None
    _, second = health_snapshot()
    assert second > first


@override_settings(DASHBOARDS_HEALTH_TTL_S=60)
def test_the_page_says_when_the_checks_ran_and_check_now_runs_them(admin_client: Client) -> None:
    _, before = health_snapshot()
    page = admin_client.get(OPERATIONS).content.decode()
    assert 'id="health-checked"' in page and "check now" in page
    _, still = health_snapshot()
    assert still == before

    admin_client.get(OPERATIONS, {"fresh": "1"})
    _, after = health_snapshot()
    assert after > before

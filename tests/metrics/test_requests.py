"""Request metrics are labelled by route pattern, method and status, with a bounded set of routes."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client, override_settings

from tests.metrics.conftest import scrape, value

API_ROWS = "/api/<str:table>/"


def test_requests_to_two_tables_count_under_one_route_pattern(staff_client: Client) -> None:
    before = scrape()
    assert staff_client.get("/api/students/").status_code == 200
    assert staff_client.get("/api/courses/").status_code == 200

    after = scrape()

    counted = "gc_http_requests_total"
    assert value(after, counted, route=API_ROWS, method="GET", status="200") == (
        value(before, counted, route=API_ROWS, method="GET", status="200") + 2
    )
    assert not any(name == counted and ("route", "/api/students/") in labels for (name, labels) in after), (
        "a raw path became a label"
    )
    assert value(after, "gc_http_request_duration_seconds_count", route=API_ROWS) == (
        value(before, "gc_http_request_duration_seconds_count", route=API_ROWS) + 2
    )


def test_status_codes_are_labelled_apart(staff_user: User) -> None:
    anonymous = Client()
    before = scrape()
    assert anonymous.get("/api/students/").status_code == 401

    after = scrape()

    labels = {"route": API_ROWS, "method": "GET", "status": "401"}
    assert value(after, "gc_http_requests_total", **labels) == value(before, "gc_http_requests_total", **labels) + 1


def test_an_unresolved_path_counts_as_other(db: None) -> None:
    before = scrape()
    assert Client().get("/no/such/path/8f3a").status_code == 404

    after = scrape()

    labels = {"route": "other", "method": "GET", "status": "404"}
    assert value(after, "gc_http_requests_total", **labels) == value(before, "gc_http_requests_total", **labels) + 1


def test_an_unusual_method_counts_as_other(db: None) -> None:
    before = scrape()
    response = Client().generic("PROPFIND", "/metrics")
    assert response.status_code == 405

    after = scrape()

    labels = {"route": "/metrics", "method": "other", "status": "405"}
    assert value(after, "gc_http_requests_total", **labels) == value(before, "gc_http_requests_total", **labels) + 1


@override_settings(METRICS_MAX_ROUTES=1)
def test_routes_past_the_limit_fold_into_other(staff_client: Client) -> None:
    # A fresh client builds its own middleware, which reads the limit: its first route is /metrics.
    client = Client()
    client.force_login(User.objects.get(pk=staff_client.session["_auth_user_id"]))
    assert client.get("/metrics").status_code == 200
    before = scrape(client)

    assert client.get("/api/students/").status_code == 200
    after = scrape(client)

    other = {"route": "other", "method": "GET", "status": "200"}
    assert value(after, "gc_http_requests_total", **other) == value(before, "gc_http_requests_total", **other) + 1

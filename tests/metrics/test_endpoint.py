"""``/metrics``: the Prometheus text format, behind the bearer token, refused in production without one."""

from __future__ import annotations

from django.test import Client, override_settings

from tests.metrics.conftest import parse


def test_metrics_answers_the_prometheus_text_format_without_a_token_outside_production(db: None) -> None:
    response = Client().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse(response.content.decode())
    assert ("gc_redis_up", frozenset()) in samples


@override_settings(METRICS_TOKEN="s3cret-token")
def test_metrics_with_a_token_configured_refuses_a_request_without_it(db: None) -> None:
    response = Client().get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"gc_" not in response.content


@override_settings(METRICS_TOKEN="s3cret-token")
def test_metrics_refuses_a_wrong_token(db: None) -> None:
    response = Client().get("/metrics", headers={"Authorization": "Bearer not-the-token"})

    assert response.status_code == 401


@override_settings(METRICS_TOKEN="s3cret-token")
def test_metrics_answers_the_right_bearer_token(db: None) -> None:
    response = Client().get("/metrics", headers={"Authorization": "Bearer s3cret-token"})

    assert response.status_code == 200
    assert b"gc_redis_up" in response.content


@override_settings(DJANGO_ENV="production", METRICS_TOKEN="")
def test_metrics_is_refused_in_production_without_a_token(db: None) -> None:
    response = Client().get("/metrics")

    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content


@override_settings(METRICS_ENABLED=False)
def test_metrics_disabled_answers_not_found(db: None) -> None:
    assert Client().get("/metrics").status_code == 404


def test_metrics_refuses_a_write_method(db: None) -> None:
    assert Client().post("/metrics").status_code == 405

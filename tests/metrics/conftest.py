"""Reading ``/metrics`` back: the scrape parsed into ``{(name, labels): value}``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from growthcompass.metrics.queries import instrument

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def family_names(text: str) -> set[str]:
    """Every metric name the scrape declares (``# HELP``/``# TYPE``), samples or not."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


def scrape_text(client: Client | None = None, **headers: str) -> str:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    return response.content.decode()


def scrape(client: Client | None = None, **headers: str) -> Samples:
    return parse(scrape_text(client, **headers))


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value, 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def fresh_statement_labels() -> Iterator[None]:
    """The query instrument forgets which statements it labelled, before and after the test."""
    instrument.reset()
    yield
    instrument.reset()

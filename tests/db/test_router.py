"""Routing rules of ``PrimaryReplicaRouter`` (the real-replica proof is in test_replica_streaming)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections, transaction
from django.test import override_settings

from courses.models import Term
from growthcompass.db.retry import retrying_read
from growthcompass.db.router import (
    PrimaryReplicaRouter,
    current_router,
    replica_health,
    use_primary,
    use_replica,
    wrote_recently,
)
from tests.db.aliases import alias_for_url, suite_database_url
from tests.factories import TermFactory

# Run-time aliases are outside what a Django TestCase allows; nothing here writes to the test database.
pytestmark = pytest.mark.usefixtures("db_unblocked")


class LocalRouter(PrimaryReplicaRouter):
    """Two run-time aliases on the test database: outside the test's own transaction."""

    primary_alias = "rt_primary"
    replica_alias = "rt_replica"


@pytest.fixture
def router() -> Iterator[LocalRouter]:
    url = suite_database_url()
    with alias_for_url("rt_primary", url), alias_for_url("rt_replica", url):
        yield LocalRouter()


def test_without_a_preference_django_decides() -> None:
    assert PrimaryReplicaRouter().read_alias() is None


def test_without_a_configured_replica_reads_stay_on_the_primary() -> None:
    with use_replica():
        assert PrimaryReplicaRouter().read_alias() == "default"


def test_the_settings_install_the_router() -> None:
    assert isinstance(current_router(), PrimaryReplicaRouter)


def test_asked_for_reads_go_to_the_replica(router: LocalRouter) -> None:
    with use_replica():
        assert router.read_alias() == "rt_replica"
        with use_primary():
            assert router.read_alias() == "rt_primary"


def test_writes_always_go_to_the_primary(router: LocalRouter) -> None:
    term = TermFactory.build()
    term._state.db = "rt_replica"
    with use_replica():
        assert router.db_for_write(Term, instance=term) == "rt_primary"


def test_reads_inside_a_transaction_stay_on_the_primary(router: LocalRouter) -> None:
    with use_replica(), transaction.atomic(using="rt_primary"):
        assert router.read_alias() == "rt_primary"


def test_reads_after_a_write_stay_on_the_primary_for_the_window(router: LocalRouter) -> None:
    with use_replica():
        router.db_for_write(Term)
        assert wrote_recently()
        assert router.read_alias() == "rt_primary"
        with override_settings(DB_READ_YOUR_WRITES_SECONDS=0):
            assert router.read_alias() == "rt_replica"


@pytest.mark.parametrize("signal", [request_started, request_finished])
def test_request_boundaries_forget_the_previous_write(router: LocalRouter, signal: object) -> None:
    router.db_for_write(Term)
    signal.send(sender=None)  # type: ignore[attr-defined]
    assert not wrote_recently()
    with use_replica():
        assert router.read_alias() == "rt_replica"


def test_an_unreachable_replica_is_skipped_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with (
        alias_for_url("rt_primary", suite_database_url()),
        alias_for_url("rt_replica", "postgres://postgres@%2Fnonexistent%2Fgc-socket/app", pool_timeout_s=0.2),
        caplog.at_level(logging.WARNING, logger="growthcompass.db.router"),
        use_replica(),
    ):
        router = LocalRouter()
        assert router.read_alias() == "rt_primary"
        assert replica_health.is_down("rt_replica")
        with override_settings(DB_REPLICA_RETRY_SECONDS=3600):
            assert router.read_alias() == "rt_primary"  # not probed again before the retry time
    warnings = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    assert len(warnings) == 1


def test_only_one_caller_probes_a_down_replica_at_a_time() -> None:
    replica_health.mark_down("rt_replica", "test")
    with override_settings(DB_REPLICA_RETRY_SECONDS=0):
        assert replica_health.claim_probe("rt_replica") is True
    with override_settings(DB_REPLICA_RETRY_SECONDS=3600):
        assert replica_health.claim_probe("rt_replica") is False


def test_migrations_never_run_on_the_replica() -> None:
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("replica", "students") is False
    assert router.allow_migrate("default", "students") is None


def test_objects_from_primary_and_replica_may_be_related() -> None:
    router = PrimaryReplicaRouter()
    first, second = TermFactory.build(), TermFactory.build()
    first._state.db, second._state.db = "default", "replica"
    assert router.allow_relation(first, second) is True
    second._state.db = "elsewhere"
    assert router.allow_relation(first, second) is None


def test_retrying_read_selectors_choose_the_replica(router: LocalRouter) -> None:
    @retrying_read(use_replica=True)
    def replica_selector() -> str | None:
        return router.read_alias()

    @retrying_read
    def plain_selector() -> str | None:
        return router.read_alias()

    assert replica_selector() == "rt_replica"
    assert plain_selector() is None
    assert connections["rt_replica"].connection is not None  # the router opened it to check it

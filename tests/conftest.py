"""Fixtures shared by the whole suite; tests run against real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from growthcompass.db.roles import APPLICATION_ROLE, as_owner
from tests.factories import StaffUserFactory


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings: None) -> None:
    """pytest-django creates and migrates the test database as the owner of the tables (MIGRATION_DATABASE_URL)."""
    _enter_owner()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Then every test connects as the application role, the one row-level security binds."""
    with django_db_blocker.unblock():
        _allow_function_call_counting()
        _exit_owner()
    yield
    # Dropping the test database (without --reuse-db) is the owner's business again.
    with django_db_blocker.unblock():
        _enter_owner()


_owner_blocks: list[AbstractContextManager[None]] = []


def _enter_owner() -> None:
    block = as_owner()
    block.__enter__()
    _owner_blocks.append(block)


def _exit_owner() -> None:
    _owner_blocks.pop().__exit__(None, None, None)


@pytest.fixture
def staff_user(db: None) -> User:
    user: User = StaffUserFactory.create()
    return user


@pytest.fixture
def staff_client(staff_user: User) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture(scope="session", autouse=True)
def release_pooled_test_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Behind PgBouncer (``make test-pgbouncer``), close its server connections before the test database is dropped.

    PgBouncer keeps idle server connections to the test database after the
    suite's clients are gone, and PostgreSQL refuses to drop a database anyone
    is connected to. Set up after ``django_db_setup``, so torn down before it.
    """
    from growthcompass.db.pooler import pooler_of

    if pooler_of("default") != "pgbouncer":
        yield
        return
    request.getfixturevalue("django_db_setup")
    yield
    from django.db import connections

    from growthcompass.devservers.pgbouncer import release_database

    settings_dict = connections["default"].settings_dict
    password = f" password={settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    admin = (
        f"host={settings_dict['HOST']} port={settings_dict['PORT']} dbname=pgbouncer "
        f"user={settings_dict.get('USER') or 'postgres'}{password}"
    )
    release_database(admin, settings_dict["NAME"])


@pytest.fixture
def as_table_owner(transactional_db: None) -> Iterator[None]:
    """The test runs as the owner of the tables: for DDL and superuser-only settings, which the application
    role may not use. Transactional (a role switch needs a fresh connection): undo any DDL in the test."""
    with as_owner():
        yield


def _allow_function_call_counting() -> None:
    """Let the application role turn on ``track_functions`` (a superuser setting), which the audit cost tests use.

    PostgreSQL 15+ grants a setting on its own; the grant is cluster-wide and
    lets the role do nothing but count function calls.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SET ON PARAMETER track_functions TO {APPLICATION_ROLE}")


@pytest.fixture(scope="module")
def module_as_owner(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Every test of the module runs as the owner of the tables: migrations, DDL, ANALYZE.

    Module-scoped, so it switches before any test's transaction begins; use it as
    ``pytestmark = pytest.mark.usefixtures("module_as_owner")`` for tests whose subject is
    the schema, not row-level security.
    """
    with django_db_blocker.unblock():
        _enter_owner()
    yield
    with django_db_blocker.unblock():
        _exit_owner()

"""Fixtures shared by the whole suite; tests run against real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import StaffUserFactory


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

"""Fixtures shared by the whole suite; tests run against real PostgreSQL and Redis."""

from __future__ import annotations

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

"""``dev_login``: a valid username, no silent promotion, and a password kept across restarts."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def devdata(settings, tmp_path):
    settings.DEVDATA_DIR = tmp_path


@pytest.mark.parametrize("username", ["", "bad user!", "x" * 200])
def test_invalid_usernames_are_refused_and_nothing_is_created(username: str) -> None:
    users = User.objects.count()
    with pytest.raises(CommandError):
        call_command("dev_login", username=username, stdout=io.StringIO())
    assert User.objects.count() == users


def test_an_existing_non_staff_user_is_not_promoted_without_promote() -> None:
    student = UserFactory.create(username="student-1", is_staff=False, is_superuser=False)
    with pytest.raises(CommandError, match="--promote"):
        call_command("dev_login", username="student-1", stdout=io.StringIO())
    student.refresh_from_db()
    assert not student.is_staff and not student.is_superuser
    call_command("dev_login", username="student-1", promote=True, stdout=io.StringIO())
    student.refresh_from_db()
    assert student.is_staff and student.is_superuser


def test_a_second_run_keeps_the_password_hash_so_sessions_survive() -> None:
    call_command("dev_login", stdout=io.StringIO())
    first_hash = User.objects.get(username="staff").password
    out = io.StringIO()
    call_command("dev_login", stdout=out)
    assert User.objects.get(username="staff").password == first_hash
    assert "Kept staff login." in out.getvalue()

"""Flags that contradict each other, and bounds that used to be missing, are refused before anything runs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from demo.services import MAX_DEMO_STUDENTS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "argv",
    [
        ["seed_demo", "--reset", "--if-empty", "--students", "1"],
        ["query_report", "--local", "--reset"],
        ["refresh_views", "--wait-timeout", "5"],
        ["refresh_views", "--concurrently", "--no-concurrently"],
        ["seed_demo", "--students", str(MAX_DEMO_STUDENTS + 1)],
        ["seed_demo", "--students", "99999999999"],
        ["audit_activity", "--user", "x", "--days", "99999999"],
        ["cache_clear", "--student", "-5"],
        ["migrate_status", "--database", "nosuchdb"],
        ["migrate_validate", "--database", "nosuchdb"],
        ["migrate_up", "--dry-run", "--database", "nosuchdb"],
        ["migrate_down", "--dry-run", "--database", "nosuchdb"],
        ["dev_login", "--username", "x" * 200],
    ],
    ids=lambda argv: " ".join(argv)[:60],
)
def test_refused_with_one_line(argv: list[str]) -> None:
    with pytest.raises(CommandError) as refused:
        call_command(*argv, stdout=io.StringIO(), stderr=io.StringIO())
    assert "\n" not in str(refused.value).strip()


def test_cache_clear_all_wants_yes_not_y() -> None:
    with pytest.raises(CommandError, match="not confirmed"):
        call_command("cache_clear", "--all", stdin=io.StringIO("y\n"), stdout=io.StringIO())

"""The application role reaches a partition only through its parent, whose policies apply."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

pytestmark = pytest.mark.django_db

PARTITIONED = ("audit_log", "attendances")


def _partitions(parent: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass", [parent])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("parent", PARTITIONED)
def test_every_partition_is_refused_to_the_application_role_by_name(parent: str) -> None:
    partitions = _partitions(parent)
    assert partitions, f"{parent} has no partitions"
    for partition in partitions:
        with pytest.raises(ProgrammingError, match="permission denied") as refused, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT 1 FROM {partition} LIMIT 1")
        assert isinstance(refused.value.__cause__, psycopg.errors.InsufficientPrivilege)


@pytest.mark.parametrize("parent", PARTITIONED)
def test_the_parent_is_readable_and_row_level_security_is_forced_on_it(parent: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity, has_table_privilege(current_user, oid, 'SELECT')"
            " FROM pg_class WHERE oid = %s::regclass",
            [parent],
        )
        assert cursor.fetchone() == (True, True, True)

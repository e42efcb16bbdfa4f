"""Every write path moves the generations of the tables it wrote: a cached queryset is never served stale.

Writes through Django's connections in this process (ORM, ``update()``,
``bulk_*``, raw cursor SQL) delete the entries on commit, before the write
call returns. Writes from anywhere else (another connection, psql, ``COPY``,
``TRUNCATE``) are seen through the table trigger's NOTIFY once the listener
has applied it (``listener.barrier()``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from courses.models import Enrollment
from dashboards.models import StudentMetrics
from dashboards.refresh import materialized_view_refresh
from growthcompass.cache.generations import TableGenerations
from growthcompass.cache.querysets import cached, cached_count
from students.models import Guardian, Student
from tests.cache.conftest import ListenerHandle, wipe
from tests.cache.test_write_paths import psql_run
from tests.db_roles import SYSTEM_SCOPE_SQL, owner_connection
from tests.factories import EnrollmentFactory, GuardianFactory, StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def entries(store: Any) -> list[bytes]:
    return list(store.client.scan_iter(match=store.prefix + "qs:*"))


def external(statement: str, params: Any = ()) -> None:
    """A write on a connection Django knows nothing about (another service, another process)."""
    # As the owner: TRUNCATE and COPY are the owner's (row-level security binds the application role).
    with owner_connection() as other:
        other.execute(statement, params)


def grade_five() -> int:
    return cached_count(Student.objects.filter(grade_level=5))


# -- this process's writes: fresh at once ------------------------------------------------


def test_orm_save_and_delete_are_fresh_on_the_next_read(cache_store):
    student = StudentFactory.create(grade_level=5)
    assert grade_five() == 1 and entries(cache_store)
    student.grade_level = 6
    student.save()
    assert not entries(cache_store)
    assert grade_five() == 0
    StudentFactory.create(grade_level=5).delete()
    assert grade_five() == 0


def test_update_bulk_create_and_bulk_update_are_fresh_on_the_next_read(cache_store):
    student = StudentFactory.create(grade_level=5)
    assert grade_five() == 1
    Student.objects.filter(pk=student.pk).update(grade_level=6)
    assert grade_five() == 0
    student.refresh_from_db()
    student.grade_level = 5
    Student.objects.bulk_update([student], ["grade_level"])
    assert grade_five() == 1
    guardians = cached_count(Guardian.objects.all())
    Guardian.objects.bulk_create([Guardian(student=student, full_name="G", relationship="mother")])
    assert cached_count(Guardian.objects.all()) == guardians + 1


def test_a_delete_is_fresh_in_the_tables_it_cascades_to(cache_store):
    enrollment = EnrollmentFactory.create()
    guardian = GuardianFactory.create(student=enrollment.student)
    assert cached_count(Enrollment.objects.all()) == 1
    assert cached_count(Guardian.objects.all()) == 1
    Student.objects.filter(pk=guardian.student_id).delete()
    assert cached_count(Enrollment.objects.all()) == 0
    assert cached_count(Guardian.objects.all()) == 0


def test_raw_sql_through_django_is_fresh_on_the_next_read(cache_store):
    student = StudentFactory.create(grade_level=5)
    assert grade_five() == 1
    with connection.cursor() as cursor:
        cursor.execute("UPDATE students SET grade_level = 6 WHERE id = %s", [student.pk])
    assert grade_five() == 0


# -- writes from elsewhere: fresh once the listener applied the NOTIFY -------------------


def test_a_write_on_another_connection_is_fresh_once_the_listener_applied_it(listener, cache_store):
    student = StudentFactory.create(grade_level=5)
    assert grade_five() == 1 and entries(cache_store)
    listener.barrier()
    external("UPDATE students SET grade_level = 6 WHERE id = %s", [student.pk])
    listener.barrier()
    assert not entries(cache_store)
    assert grade_five() == 0


def test_a_write_from_psql_is_fresh_once_the_listener_applied_it(listener, cache_store):
    student = StudentFactory.create(grade_level=5)
    assert grade_five() == 1
    listener.barrier()
    psql_run(f"{SYSTEM_SCOPE_SQL}; UPDATE students SET grade_level = 7 WHERE id = {int(student.pk)}")
    listener.barrier()
    assert grade_five() == 0


def test_copy_and_truncate_are_fresh_once_the_listener_applied_them(listener, cache_store):
    student = StudentFactory.create()
    assert cached_count(Guardian.objects.all()) == 0
    listener.barrier()
    with owner_connection() as other:
        with other.cursor().copy("COPY guardians (student_id, full_name, relationship, phone, email, is_primary,"
                                 " is_emergency_contact) FROM STDIN") as copy:  # fmt: skip
            copy.write_row((student.pk, "Copied", "mother", "", "", False, False))
    listener.barrier()
    assert cached_count(Guardian.objects.all()) == 1
    external("TRUNCATE guardians")
    listener.barrier()
    assert cached_count(Guardian.objects.all()) == 0


def test_a_view_refresh_is_fresh_for_querysets_that_read_the_view(listener, cache_store):
    materialized_view_refresh()
    metrics = StudentMetrics.objects.all()
    assert cached_count(metrics) == 0 and entries(cache_store)
    StudentFactory.create()
    assert cached_count(metrics) == 0  # the view is as old as its last refresh
    materialized_view_refresh()
    listener.barrier()
    assert cached_count(metrics) == 1


def test_a_write_made_while_no_listener_ran_is_not_served_once_one_connects(cache_store, transactional_db):
    student = StudentFactory.create(grade_level=5)
    assert grade_five() == 1 and entries(cache_store)
    external("UPDATE students SET grade_level = 6 WHERE id = %s", [student.pk])  # nobody listens
    assert entries(cache_store)  # the precondition: the entry outlived the write
    handle = ListenerHandle().start()  # (re)connecting moves every table's generation
    try:
        assert not entries(cache_store)
        assert grade_five() == 0
    finally:
        handle.stop()


def test_redis_losing_its_data_refuses_every_fill_that_began_before(cache_store):
    generations = TableGenerations(cache_store.client, cache_store.prefix, cache_store.keys.queryset_tag)
    generations.bump(["terms"])
    generations.bump(["terms"])
    mark = generations.mark()
    wipe(cache_store)  # what a restart of a Redis without persistence leaves
    generations.bump(["students"])  # a write whose generation restarted from nothing
    assert generations.generation("students") <= mark[1]  # the counter alone could not tell
    stored = generations.fill(cache_store.keys.queryset_entry("x"), b"old", tables=["students"], mark=mark, ttl_s=60)
    assert not stored
    assert generations.fill(
        cache_store.keys.queryset_entry("x"), b"new", tables=["students"], mark=generations.mark(), ttl_s=60
    )


def test_a_bump_between_the_mark_and_the_fill_refuses_the_fill(cache_store):
    generations = TableGenerations(cache_store.client, cache_store.prefix, cache_store.keys.queryset_tag)
    mark = generations.mark()
    generations.bump(["guardians"])
    assert generations.fill(cache_store.keys.queryset_entry("a"), b"v", tables=["students"], mark=mark, ttl_s=60)
    both = ["students", "guardians"]
    assert not generations.fill(cache_store.keys.queryset_entry("b"), b"v", tables=both, mark=mark, ttl_s=60)
    generations.bump(["students"])
    assert not cache_store.client.exists(cache_store.keys.queryset_entry("a"))


def test_dates_survive_the_round_trip(cache_store):
    StudentFactory.create(enrolled_on=dt.date(2024, 9, 2))
    assert cached(Student.objects.values_list("enrolled_on", flat=True)) == [dt.date(2024, 9, 2)]
    assert cached(Student.objects.values_list("enrolled_on", flat=True)) == [dt.date(2024, 9, 2)]

"""Cached querysets: what a hit returns, what the key and the dependencies are, what is refused and why."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Count, Max, Prefetch, Sum
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from courses.models import Course, Enrollment
from growthcompass.cache.dependencies import catalog
from growthcompass.cache.querysets import (
    UncacheableQuery,
    cached,
    cached_aggregate,
    cached_count,
    declare,
    queryset_cache,
)
from growthcompass.cache.table_triggers import project_models
from students.models import Guardian, Student
from tests.factories import EnrollmentFactory, GuardianFactory, StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def queries_run(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, len(captured.captured_queries)


def entries(store) -> list[str]:
    return sorted(k.decode() for k in store.client.scan_iter(match=store.prefix + "qs:*"))


def test_every_project_table_announces_its_writes():
    tables = {model._meta.db_table for model in project_models()}
    assert {"students", "guardians", "courses", "enrollments", "terms", "auth_user", "view_refreshes"} <= tables
    assert tables <= catalog("default").announced


def test_a_hit_returns_the_rows_without_a_query(cache_store):
    student = StudentFactory.create(grade_level=5)
    queryset = Student.objects.filter(grade_level=5).select_related("user")
    _, first_queries = queries_run(lambda: cached(queryset))
    assert first_queries >= 1 and entries(cache_store)
    again, again_queries = queries_run(lambda: cached(queryset))
    assert again_queries == 0
    assert [s.pk for s in again] == [student.pk]
    assert again[0].user.username == student.user.username  # select_related came along


def test_values_values_list_counts_and_aggregates_are_cached_apart(cache_store):
    StudentFactory.create(grade_level=5)
    StudentFactory.create(grade_level=6)
    base = Student.objects.order_by("grade_level")
    assert cached(base.values("grade_level")) == [{"grade_level": 5}, {"grade_level": 6}]
    assert cached(base.values_list("grade_level", flat=True)) == [5, 6]
    assert cached(base.values_list("grade_level")) == [(5,), (6,)]
    assert cached_count(base) == 2
    assert cached_aggregate(base, top=Max("grade_level")) == {"top": 6}
    assert cached_aggregate(base, total=Sum("grade_level")) == {"total": 11}
    assert len(entries(cache_store)) == 6
    (_, queries) = queries_run(lambda: (cached_count(base), cached(base.values_list("grade_level", flat=True))))
    assert queries == 0


def test_a_declared_query_is_keyed_by_its_parameters(cache_store):
    StudentFactory.create(grade_level=5)
    StudentFactory.create(grade_level=6)
    by_grade = declare("test_students_by_grade", lambda grade: Student.objects.filter(grade_level=grade), ttl=60)
    assert [s.grade_level for s in by_grade(grade=5)] == [5]
    assert [s.grade_level for s in by_grade(grade=6)] == [6]
    result, queries = queries_run(lambda: by_grade(grade=5))
    assert queries == 0 and [s.grade_level for s in result] == [5]


def test_the_entry_depends_on_every_table_read_prefetches_and_joins_included(cache_store):
    guardian = GuardianFactory.create(full_name="Before")
    queryset = Student.objects.filter(pk=guardian.student_id).select_related("user").prefetch_related("guardians")
    rows = cached(queryset)
    assert [g.full_name for g in rows[0].guardians.all()] == ["Before"]
    (key,) = entries(cache_store)
    tag = cache_store.keys.queryset_tag
    for table in ("students", "auth_user", "guardians"):
        assert cache_store.client.sismember(f"{cache_store.prefix}~qdeps:{table}{tag}", key)
    assert not cache_store.client.sismember(f"{cache_store.prefix}~qdeps:enrollments{tag}", key)

    Guardian.objects.filter(pk=guardian.pk).update(full_name="After")  # a prefetched table, no signal sent

    assert entries(cache_store) == []
    assert [g.full_name for g in cached(queryset)[0].guardians.all()] == ["After"]


def test_a_prefetch_queryset_and_a_subquery_are_dependencies(cache_store):
    enrollment = EnrollmentFactory.create()
    with_courses = Student.objects.filter(pk=enrollment.student_id).prefetch_related(
        Prefetch("enrollments", queryset=Enrollment.objects.select_related("course"))
    )
    in_a_course = Student.objects.filter(pk__in=Enrollment.objects.values("student_id"))
    cached(with_courses)
    cached(in_a_course)
    assert len(entries(cache_store)) == 2
    Course.objects.filter(pk=enrollment.course_id).update(name="Renamed")
    assert len(entries(cache_store)) == 1  # the subquery reads enrollments, not courses
    Enrollment.objects.filter(pk=enrollment.pk).update(status="dropped")
    assert entries(cache_store) == []


def test_an_empty_in_list_is_answered_without_a_key(cache_store):
    assert cached(Student.objects.filter(pk__in=[])) == []


def test_select_for_update_is_refused_with_its_reason(cache_store):
    with pytest.raises(UncacheableQuery, match="select_for_update"):
        cached(Student.objects.select_for_update())


def test_a_volatile_function_is_refused_with_its_reason(cache_store):
    with pytest.raises(UncacheableQuery, match="statement_timestamp"):
        cached(Student.objects.annotate(at=Now()))


def test_another_database_alias_is_refused(cache_store, settings):
    with pytest.raises(UncacheableQuery, match="only 'default'"):
        cached(Student.objects.using("replica") if "replica" in settings.DATABASES else Student.objects.using("x"))


def test_a_table_without_a_trigger_is_read_but_never_stored(cache_store, caplog):
    Group.objects.create(name="teachers")
    assert "auth_group" not in catalog("default").announced
    with caplog.at_level(logging.WARNING, logger="growthcompass.cache"):
        assert [g.name for g in cached(Group.objects.all())] == ["teachers"]
    assert entries(cache_store) == []
    assert "auth_group, whose writes no trigger announces" in caplog.text
    Group.objects.create(name="staff")
    assert sorted(g.name for g in cached(Group.objects.all())) == ["staff", "teachers"]


def test_a_transaction_that_wrote_reads_its_own_write_and_stores_nothing(cache_store):
    StudentFactory.create(grade_level=5)
    queryset = Student.objects.filter(grade_level=5)
    assert cached_count(queryset) == 1
    assert len(entries(cache_store)) == 1
    with transaction.atomic():
        StudentFactory.create(grade_level=5)
        assert cached_count(queryset) == 2  # its own write, not the entry
        cache_store.client.unlink(*entries(cache_store)) if entries(cache_store) else None
        assert cached_count(queryset) == 2
        assert entries(cache_store) == []  # not stored from inside a transaction that wrote
    assert cached_count(queryset) == 2


def test_a_raw_sql_write_in_a_transaction_is_read_back_uncached(cache_store):
    student = StudentFactory.create(grade_level=5)
    queryset = Student.objects.filter(grade_level=5)
    assert cached_count(queryset) == 1
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE students SET grade_level = 6 WHERE id = %s", [student.pk])
        assert cached_count(queryset) == 0
    assert cached_count(queryset) == 0


def test_a_rolled_back_savepoint_leaves_the_committed_rows(cache_store):
    StudentFactory.create(grade_level=5)
    queryset = Student.objects.filter(grade_level=5)
    assert cached_count(queryset) == 1
    with transaction.atomic():
        try:
            with transaction.atomic():
                StudentFactory.create(grade_level=5)
                assert cached_count(queryset) == 2
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        assert cached_count(queryset) == 1
    assert cached_count(queryset) == 1


@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_a_reader_above_read_committed_reads_its_snapshot_not_the_cache(cache_store, level):
    student = StudentFactory.create(grade_level=5)
    queryset = Student.objects.filter(grade_level=5)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
        assert cached_count(queryset) == 1  # the snapshot starts here
        import psycopg

        from growthcompass.cache.listener import listener_connection_params

        with psycopg.connect(**listener_connection_params(), autocommit=True) as other:
            other.execute("UPDATE students SET grade_level = 6 WHERE id = %s", [student.pk])
        queryset_cache().bump(["students"])
        assert cached_count(queryset) == 1  # still the snapshot, though another reader now caches 0
        assert entries(cache_store) == []
    assert cached_count(queryset) == 0


def test_per_table_statistics_count_hits_misses_and_stores(cache_store):
    StudentFactory.create(grade_level=5)
    queryset = Student.objects.filter(grade_level=5).annotate(n=Count("guardians"))
    cached(queryset)
    cached(queryset)
    stats = cache_store.statistics()
    students = stats["tables"]["students"]
    guardians = stats["tables"]["guardians"]
    assert (students["hits"], students["misses"], students["stores"]) == (1, 1, 1)
    assert (guardians["hits"], guardians["misses"]) == (1, 1)

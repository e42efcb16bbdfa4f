"""attendances partitioned by month on session_date: every write path fills the date, the database keeps it
the session's, one attendance per student and session holds across partitions, and date filters prune."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from attendance.models import Attendance, AttendanceStatus
from attendance.services import attendance_record
from auditing.models import AuditLog
from growthcompass.partitions import get
from growthcompass.partitions.maintenance import partitions_maintain
from tests.factories import AttendanceFactory, ClassSessionFactory, CourseFactory, StudentFactory
from tests.partitions.conftest import month, rows_in

# The subject is the partitioned table itself (partitions read directly, which the application role may
# not): these tests run as the owner; row-level security still applies to it (the tables force it).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]

TABLE = get("attendances")


def day_in(offset: int, day: int = 10) -> dt.date:
    return month(offset).replace(day=day)


def partition_of(attendance: Attendance) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM attendances WHERE id = %s AND session_date = %s",
            [attendance.pk, attendance.session_date],
        )
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_the_orm_fills_session_date_from_the_session_and_routes_the_row_to_its_month() -> None:
    session = ClassSessionFactory.create(session_date=day_in(1))
    attendance = AttendanceFactory.create(session=session)

    attendance.refresh_from_db()
    assert attendance.session_date == session.session_date
    assert partition_of(attendance) == TABLE.partition_name(month(1))


def test_a_row_given_only_the_session_id_reads_the_date_once() -> None:
    session = ClassSessionFactory.create(session_date=day_in(0))
    student = StudentFactory.create()

    attendance = Attendance.objects.create(student_id=student.pk, session_id=session.pk, status="present")

    assert Attendance.objects.get(pk=attendance.pk).session_date == session.session_date


def test_the_service_and_bulk_create_fill_it_too() -> None:
    session = ClassSessionFactory.create(session_date=day_in(2))
    students = StudentFactory.create_batch(3)

    recorded = attendance_record(student=students[0], session=session, status=AttendanceStatus.LATE, minutes_late=4)
    Attendance.objects.bulk_create(
        [Attendance(student=student, session=session, status=AttendanceStatus.PRESENT) for student in students[1:]]
    )

    assert recorded.session_date == session.session_date
    assert set(Attendance.objects.filter(session=session).values_list("session_date", flat=True)) == {
        session.session_date
    }
    assert rows_in(TABLE.partition_name(month(2))) == 3


def test_the_database_refuses_a_date_that_is_not_the_sessions() -> None:
    session = ClassSessionFactory.create(session_date=day_in(0))
    student = StudentFactory.create()

    with pytest.raises(IntegrityError, match="attendances_session_date_fk"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO attendances (student_id, session_id, session_date, status, minutes_late, created_at, note)"
                " VALUES (%s, %s, %s, 'present', 0, now(), '')",
                [student.pk, session.pk, session.session_date + dt.timedelta(days=1)],
            )


def test_a_row_without_a_date_is_refused_rather_than_guessed() -> None:
    session = ClassSessionFactory.create(session_date=day_in(0))
    student = StudentFactory.create()

    with pytest.raises(IntegrityError, match="session_date"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO attendances (student_id, session_id, status, minutes_late, created_at, note)"
                " VALUES (%s, %s, 'present', 0, now(), '')",
                [student.pk, session.pk],
            )


def test_one_attendance_per_student_and_session_is_still_enforced_by_the_database() -> None:
    attendance = AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(0)))

    # The partition's copy of attendances_unique_session_student answers (PostgreSQL names it).
    with pytest.raises(IntegrityError, match=r"Key \(session_id, student_id, session_date\)"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO attendances (student_id, session_id, session_date, status, minutes_late, created_at, note)"
                " VALUES (%s, %s, %s, 'absent', 0, now(), '')",
                [attendance.student_id, attendance.session_id, attendance.session_date],
            )


def test_rescheduling_a_session_moves_its_attendance_to_the_new_month() -> None:
    session = ClassSessionFactory.create(session_date=day_in(0))
    attendance = AttendanceFactory.create(session=session)
    assert partition_of(attendance) == TABLE.partition_name(month(0))

    session.session_date = day_in(2)
    session.save()

    attendance.refresh_from_db()
    assert attendance.session_date == day_in(2)
    assert partition_of(attendance) == TABLE.partition_name(month(2))


def test_writes_to_the_partitioned_table_are_audited_and_announced_to_the_cache() -> None:
    attendance = AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(0)))
    Attendance.objects.filter(pk=attendance.pk).update(note="seen")

    entries = AuditLog.objects.filter(table_name="attendances", row_pk=str(attendance.pk))
    assert list(entries.order_by("id").values_list("operation", flat=True)) == ["INSERT", "UPDATE"]
    update = entries.get(operation="UPDATE")
    assert update.changed_fields == ["note"]
    assert update.new_data is not None and update.new_data["session_date"] == attendance.session_date.isoformat()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'attendances'::regclass AND tgname LIKE 'pgtrigger_%%'"
        )
        row = cursor.fetchone()
    assert row is not None and row[0] == 5  # audit insert/update/delete/truncate and the cache NOTIFY


def test_a_statement_naming_a_partition_is_audited_too() -> None:
    attendance = AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(1)))
    partition = TABLE.partition_name(month(1))

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {partition} WHERE id = %s", [attendance.pk])

    assert AuditLog.objects.filter(operation="DELETE", row_pk=str(attendance.pk)).count() == 1


def test_a_session_beyond_the_partitions_lands_in_default_and_maintenance_moves_it_unaudited() -> None:
    far = month(9)
    assert TABLE.partition_name(far) not in {p for p in _partition_names()}
    attendance = AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(9)))
    assert partition_of(attendance) == "attendances_default"
    audited = AuditLog.objects.filter(row_pk=str(attendance.pk)).count()

    partitions_maintain()

    assert partition_of(attendance) == TABLE.partition_name(far)
    assert rows_in("attendances_default") == 0
    assert AuditLog.objects.filter(row_pk=str(attendance.pk)).count() == audited  # a move is no deletion


def _partition_names() -> set[str]:
    from growthcompass.partitions.catalog import partitions

    with connection.cursor() as cursor:
        return {partition.name for partition in partitions(cursor, "attendances")}


# --- plans -----------------------------------------------------------------------------------


def _scanned(plan: object) -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "Relation Name" in node:
                found.add(str(node["Relation Name"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(plan)
    return found


def test_this_months_attendance_for_a_course_reads_only_this_months_partition() -> None:
    course = CourseFactory.create()
    for offset in (-1, 0, 1):
        AttendanceFactory.create(session=ClassSessionFactory.create(course=course, session_date=day_in(offset)))
    queryset = Attendance.objects.filter(
        session__course=course, session_date__gte=month(0), session_date__lt=month(1)
    ).select_related("session")

    scanned = _scanned(json.loads(queryset.explain(format="json")))

    assert queryset.count() == 1
    assert {name for name in scanned if name.startswith("attendances")} == {TABLE.partition_name(month(0))}
    assert "class_sessions" in scanned


def test_a_query_without_a_date_reads_every_partition() -> None:
    # The precondition of the test above meaning something: pruning comes from the date filter.
    scanned = _scanned(json.loads(Attendance.objects.filter(status="late").explain(format="json")))
    assert {TABLE.partition_name(month(0)), TABLE.partition_name(month(1)), "attendances_default"} <= scanned


# --- admin and API ----------------------------------------------------------------------------


def test_the_admin_adds_an_attendance_with_the_sessions_date_and_refuses_a_duplicate(staff_client: Client) -> None:
    session = ClassSessionFactory.create(session_date=day_in(0))
    student = StudentFactory.create()
    url = reverse("admin:attendance_attendance_add")
    form = {
        "student": student.pk,
        "session": session.pk,
        "status": "present",
        "minutes_late": 0,
        "created_at_0": "2026-01-05",
        "created_at_1": "09:00:00",
        "note": "",
    }

    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    attendance = Attendance.objects.get(student=student, session=session)
    assert attendance.session_date == session.session_date

    again = staff_client.post(url, form)
    assert again.status_code == 200
    assert b"already exists" in again.content


def test_the_admin_filters_by_session_month_and_shows_the_change_page(staff_client: Client) -> None:
    this_month = AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(0, day=1)))
    AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(2)))
    url = reverse("admin:attendance_attendance_changelist")

    response = staff_client.get(
        url, {"session_date__gte": month(0).isoformat(), "session_date__lt": month(1).isoformat()}
    )

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [this_month.pk]
    change = staff_client.get(reverse("admin:attendance_attendance_change", args=[this_month.pk]))
    assert change.status_code == 200
    assert this_month.session_date.isoformat().encode() in change.content or b"session date" in change.content.lower()


def test_the_api_reads_and_filters_attendance_by_session_date(staff_client: Client) -> None:
    inside = AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(0)))
    AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(1)))

    response = staff_client.get(
        "/api/attendances/", {"session_date__gte": month(0).isoformat(), "session_date__lt": month(1).isoformat()}
    )

    assert response.status_code == 200, response.content
    rows = response.json()["rows"]
    assert [row["id"] for row in rows] == [inside.pk]
    assert rows[0]["session_date"] == inside.session_date.isoformat()


def test_the_course_pages_attendance_read_touches_only_the_months_of_its_sessions() -> None:
    from django.test.utils import CaptureQueriesContext

    from dashboards.selectors.course_page import course_attendance_marks, course_sessions_held

    course = CourseFactory.create()
    made = [
        AttendanceFactory.create(session=ClassSessionFactory.create(course=course, session_date=day_in(offset)))
        for offset in (-1, 0)
    ]
    AttendanceFactory.create(session=ClassSessionFactory.create(session_date=day_in(2)))  # another month
    holding = {partition_of(attendance) for attendance in made}
    assert TABLE.partition_name(month(2)) not in holding
    sessions = course_sessions_held(course_id=course.pk, until=day_in(0))
    with CaptureQueriesContext(connection) as captured:
        marks = course_attendance_marks(sessions=sessions)
    assert len(marks) == 2
    [query] = [q["sql"] for q in captured.captured_queries if "attendances" in q["sql"]]
    # The audit context may prefix the statement with its set_config(): explain the SELECT itself.
    query = query[query.index('SELECT "attendances"') :]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + query)
        plan = cursor.fetchone()[0]
    scanned = {name for name in _scanned(plan) if name.startswith("attendances")}
    # The sessions' months (last month is in the DEFAULT partition until maintenance gives it one).
    assert scanned == holding

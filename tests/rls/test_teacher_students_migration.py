"""courses 0008 on a database holding enrolments: the table is filled from them, and the way back drops it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from courses.models import EnrollmentStatus
from growthcompass.rls import rls_system_context
from tests.factories import CourseFactory, EnrollmentFactory, StudentFactory, TermFactory, UserFactory
from tests.rls.test_teacher_students import DEFINITION_SQL, TABLE_SQL, _rows

# Migrations run as the owner of the tables.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("module_as_owner")]


def test_the_migration_fills_the_table_from_existing_enrolments_and_goes_back() -> None:
    with rls_system_context(reason="test: data before the migration"):
        teacher = UserFactory.create(username="teacher-migration")
        course = CourseFactory.create(teacher=teacher, term=TermFactory.create())
        for student in StudentFactory.create_batch(4):
            EnrollmentFactory.create(student=student, course=course, status=EnrollmentStatus.ACTIVE)
    before = _rows(DEFINITION_SQL)
    assert len(before) >= 4
    call_command("migrate", "feedback", "0006_statement_trigger_cost", verbosity=0)
    call_command("migrate", "attendance", "0009_statement_trigger_cost", verbosity=0)
    call_command("migrate", "courses", "0007_cache_trigger_cost", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('rls_teacher_students')")
        assert cursor.fetchone() == (None,)
    call_command("migrate", verbosity=0)
    assert _rows(TABLE_SQL) == before == _rows(DEFINITION_SQL)

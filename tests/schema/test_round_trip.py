"""Every app to zero and back on a database holding data, and the newest migrations round-tripped.

Transactional tests: migrations must really commit (non-atomic ones cannot run
inside the test transaction), and pytest-django flushes afterwards; the schema
they leave behind is the fully migrated one the rest of the suite expects.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import CreateModel
from django.db.models import Model
from factory.django import DjangoModelFactory
from psycopg import sql

from growthcompass.schema.selectors import project_migrated_apps
from growthcompass.schema.services import run_plan
from growthcompass.schema.validation import migrations_validate
from tests import factories
from tests.factories import AttendanceFactory, EnrollmentFactory, FeedbackFactory, GuardianFactory
from tests.schema.conftest import table_exists

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("module_as_owner")]


def _data_models() -> list[type[Model]]:
    """The tables the suite's factories fill: the data a migration must not lose."""
    models = {
        factory_class._meta.model
        for factory_class in vars(factories).values()
        if isinstance(factory_class, type)
        and issubclass(factory_class, DjangoModelFactory)
        and factory_class._meta.model
    }
    return sorted(models, key=lambda model: model._meta.db_table)


def _seed() -> None:
    attendance = AttendanceFactory.create()
    EnrollmentFactory.create(student=attendance.student, course=attendance.session.course)
    GuardianFactory.create(student=attendance.student, is_primary=True)
    FeedbackFactory.create(student=attendance.student, session=attendance.session)


def _primary_keys(table: str, pk_column: str) -> list[object]:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT {pk} FROM {table} ORDER BY 1").format(
                pk=sql.Identifier(pk_column), table=sql.Identifier(table)
            )
        )
        return [row[0] for row in cursor.fetchall()]


def _rows_by_table() -> dict[str, list[object]]:
    return {
        model._meta.db_table: _primary_keys(model._meta.db_table, model._meta.pk.column) for model in _data_models()
    }


def _tables_created_by(loader: MigrationLoader, keys: list[tuple[str, str]]) -> set[str]:
    tables = set()
    for app, name in keys:
        state = loader.project_state((app, name), at_end=True)
        for operation in loader.graph.nodes[(app, name)].operations:
            if isinstance(operation, CreateModel):
                model_state = state.models[(app, operation.name_lower)]
                tables.add(model_state.options.get("db_table") or f"{app}_{operation.name_lower}")
    return tables


def test_every_app_migrates_to_zero_and_back_on_a_database_holding_data() -> None:
    _seed()
    before = _rows_by_table()
    assert all(before.values()), "every data-bearing table holds rows before the reset"
    loader = MigrationLoader(connection)
    project_keys = sorted(key for key in loader.disk_migrations if key[0] in project_migrated_apps(loader))
    out = io.StringIO()

    call_command("migrate_reset", "--force", stdout=out)

    text = out.getvalue()
    for app, name in project_keys:
        assert f"Unapplying {app}.{name}... OK" in text
        assert f"Applying {app}.{name}... OK" in text
    assert MigrationExecutor(connection).migration_plan(loader.graph.leaf_nodes()) == []
    for table in before:
        assert table_exists(table)
    assert all(rows == [] for rows in _rows_by_table().values()), "zero dropped the data; back up recreated the tables"
    report = migrations_validate()
    assert report.ok, [problem.line() for problem in report.problems]


def test_newest_migration_of_each_app_round_trips_keeping_the_data() -> None:
    _seed()
    before = _rows_by_table()
    loader = MigrationLoader(connection)
    round_tripped = []
    for app in sorted(project_migrated_apps(loader)):
        for leaf in loader.graph.leaf_nodes(app):
            # The leaf and whatever applied migrations depend on it, dependents first.
            undo = [key for key in loader.graph.backwards_plan(leaf) if key in loader.applied_migrations]
            if _tables_created_by(loader, undo) & {table for table, rows in before.items() if rows}:
                continue  # unapplying would drop a table holding data: a data round trip is impossible
            executor = MigrationExecutor(connection)
            plan = [(executor.loader.graph.nodes[key], True) for key in undo]
            run_plan(executor=executor, plan=plan, stdout=io.StringIO(), verbosity=0)
            assert all(key not in MigrationLoader(connection).applied_migrations for key in undo)
            call_command("migrate_up", stdout=io.StringIO(), verbosity=0)
            assert _rows_by_table() == before, f"data lost in the round trip of {leaf}"
            round_tripped.append(leaf)
    # The schema app's own migration never touches data tables, so at least it is always exercised.
    assert ("schema", "0001_initial") in round_tripped
    report = migrations_validate()
    assert report.ok, [problem.line() for problem in report.problems]

"""The application role's privileges on every table of an installed model, granted after ``migrate``.

Explicit per table (and per parent of a partitioned table), never default
privileges on the schema: a table nobody declared gets nothing. Materialized
views and views are left out, so a read model is exposed only through the
filtered form its app creates (the dashboards app's security-barrier views).
Runs as whoever migrates; a role that may not grant only logs why.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.db import DatabaseError, connections, transaction

from growthcompass.db.roles import APPLICATION_ROLE

logger = logging.getLogger(__name__)

# Read by the schema commands and health checks; written only by migrate.
_READ_ONLY_TABLES = ("django_migrations",)


def model_tables() -> list[str]:
    """The tables of every installed model (many-to-many ones included), in a stable order."""
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    return sorted(tables)


def grant_application_privileges(*, using: str = "default") -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APPLICATION_ROLE])
            if cursor.fetchone() is None:
                return
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s) "
                "AND NOT c.relispartition ORDER BY 1",
                [model_tables()],
            )
            tables = [row[0] for row in cursor.fetchall()]
            role = connection.ops.quote_name(APPLICATION_ROLE)
            if tables:
                names = ", ".join(connection.ops.quote_name(table) for table in tables)
                cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {names} TO {role}")
            cursor.execute(
                "SELECT s.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
                "AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' AND t.relname = ANY(%s)",
                [tables],
            )
            sequences = sorted({row[0] for row in cursor.fetchall()})
            if sequences:
                names = ", ".join(connection.ops.quote_name(name) for name in sequences)
                cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON SEQUENCE {names} TO {role}")
            for table in _READ_ONLY_TABLES:
                cursor.execute(f"GRANT SELECT ON {connection.ops.quote_name(table)} TO {role}")
    except DatabaseError as exc:
        logger.warning("could not grant %s its privileges: %s", APPLICATION_ROLE, exc)

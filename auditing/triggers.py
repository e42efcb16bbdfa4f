"""The audit triggers: statement-level, with transition tables, declared through django-pgtrigger.

Each audited table gets one ``AFTER ... FOR EACH STATEMENT`` trigger per
operation. INSERT, UPDATE and DELETE read the statement's transition tables
(``REFERENCING NEW TABLE / OLD TABLE``) and write every changed row with one
``INSERT ... SELECT``, so a 100,000-row ``UPDATE`` costs one trigger call, not
100,000 PL/pgSQL calls (see ``benchmarks/bench_audit.py`` for the figures).
TRUNCATE, which removes rows without a transition table, is logged as one
entry for the table.

Everything a statement shares (the acting user and context, the time, the
database role, ``application_name``, the transaction id) is read once into
variables, not once per row. The acting user and context come from the
``growthcompass.audit_context`` setting, which ``auditing.context`` sets for
each statement; ``audit_context_from_setting()`` (created by migration 0001)
parses it and never lets a malformed value fail the write.

The SQL is rendered from the model when ``makemigrations auditing`` runs, so
it is frozen in the migration like any other schema object. Changed columns
are compared one by one (cheap); the whole-row ``IS DISTINCT FROM`` test is the
safety net for a column added to the table after the triggers were last
regenerated: that row is still logged, and its changed fields are then found
by the generic ``audit_changed_keys(old, new)`` comparison.

None of these triggers depends on the order in which PostgreSQL fires it
relative to other triggers on the same table (the cache invalidation ones,
for instance): each reads only its own transition tables.

What a statement pays whatever its size is kept to one PL/pgSQL call (the
trigger itself): pgtrigger's ignore check is a built-in test unless
``pgtrigger.ignore`` names the trigger (``growthcompass.db.trigger_sql``), the
context is parsed only when one is set, and audit_log's ``written_by_triggers``
guard is a ``WHEN`` condition that never calls its function for an audit
trigger's insert. ``docs/audit-log.md`` ("Cost") lists what remains.
"""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.conf import settings
from django.db import models
from psycopg import sql

from growthcompass.db.trigger_sql import FastIgnoreTrigger

# The setting the triggers read the acting user and context from.
CONTEXT_SETTING = "growthcompass.audit_context"

AUDIT_COLUMNS = (
    "table_name, operation, row_pk, old_data, new_data, changed_fields, "
    "changed_at, changed_by, db_role, application_name, transaction_id, context"
)

# Read once per statement; ``_ctx`` loses its ``user_id`` key once that is in ``_user``.
STATEMENT_DECLARE = [
    ("_ctx", "jsonb"),
    ("_user", "integer"),
    ("_at", "timestamptz"),
    ("_role", "text"),
    ("_app", "text"),
    ("_xid", "bigint"),
]
# The context is parsed only when one is set: a statement without one (cron, psql,
# most bulk work) pays one built-in call, not a PL/pgSQL call.
STATEMENT_PROLOGUE = """
    IF current_setting('growthcompass.audit_context', true) <> '' THEN
        _ctx := audit_context_from_setting();
        _user := (_ctx ->> 'user_id')::integer;
        _ctx := NULLIF(_ctx - 'user_id', '{}'::jsonb);
    END IF;
    _at := statement_timestamp();
    _role := current_user;
    _app := current_setting('application_name');
    _xid := pg_current_xact_id()::text::bigint;
"""
# Each trigger's INSERT ... SELECT is planned once per session and the plan is reused
# whatever the size of the next statement's transition tables; the planner knows
# nothing of them but their row count at planning time. A plan made for a 10,000-row
# statement is costed high enough to be JIT-compiled, and was compiled again at every
# later single-row statement of the session (about 25 ms each); an UPDATE's join
# planned for one row (a nested loop) would make a later 100,000-row UPDATE quadratic.
# So JIT (and for UPDATE the nested loop and merge join, leaving the hash join, linear
# at every size) is off while the statement is planned and run, and put back at once,
# transaction-locally, as it was.
PLAN_SETTINGS = {
    "INSERT": ("jit",),
    "UPDATE": ("jit", "enable_nestloop", "enable_mergejoin"),
    "DELETE": ("jit",),
    "TRUNCATE": (),
}
PLAN_DECLARE = [("_jit", "text"), ("_enable_nestloop", "text"), ("_enable_mergejoin", "text"), ("_set", "text")]


def _plan_settings(operation: str) -> tuple[str, str]:
    """PL/pgSQL turning ``PLAN_SETTINGS[operation]`` off before the audit INSERT, and back after it."""
    names = PLAN_SETTINGS[operation]
    before = "".join(
        f"_{name} := current_setting('{name}'); _set := set_config('{name}', 'off', true);\n" for name in names
    )
    after = "".join(f"_set := set_config('{name}', _{name}, true);\n" for name in names)
    return before, after


SHARED_VALUES = "_at, _user, _role, _app, _xid, _ctx"


def redacted_columns(table: str) -> tuple[str, ...]:
    """Columns of ``table`` never copied into the log (``settings.AUDIT_REDACTED_COLUMNS``)."""
    configured: dict[str, Any] = settings.AUDIT_REDACTED_COLUMNS
    return tuple(sorted(configured.get(table, ())))


def _render(query: sql.Composable) -> str:
    """Trigger SQL as text for pgtrigger (identifiers and literals quoted by psycopg)."""
    return query.as_string(None)


def _row_json(alias: str, table: str) -> sql.Composable:
    """``to_jsonb(alias)`` without the table's redacted columns (``alias`` may be qualified: ``c.o``)."""
    redacted = redacted_columns(table)
    row = sql.Identifier(*alias.split("."))
    if not redacted:
        return sql.SQL("to_jsonb({})").format(row)
    return sql.SQL("(to_jsonb({}) - ARRAY[{}]::text[])").format(
        row, sql.SQL(", ").join(sql.Literal(column) for column in redacted)
    )


def _columns_array(model: type[models.Model], *, changed: bool) -> sql.Composable:
    """Per-column comparison of ``o`` and ``n``: the columns that differ (or are equal), in model order."""
    test = sql.SQL("IS DISTINCT FROM" if changed else "IS NOT DISTINCT FROM")
    cases = sql.SQL(", ").join(
        sql.SQL("CASE WHEN o.{column} {test} n.{column} THEN {name} END").format(
            column=sql.Identifier(field.column), test=test, name=sql.Literal(field.column)
        )
        for field in model._meta.concrete_fields
        if field.column
    )
    return sql.SQL("array_remove(ARRAY[{}]::text[], NULL)").format(cases)


_INSERT_SQL = sql.SQL(
    """
    INSERT INTO audit_log ({columns})
    SELECT TG_TABLE_NAME, 'INSERT', n.{pk}::text, NULL, {new_json}, NULL, {shared}
    FROM new_rows AS n;
    """
)
_DELETE_SQL = sql.SQL(
    """
    INSERT INTO audit_log ({columns})
    SELECT TG_TABLE_NAME, 'DELETE', o.{pk}::text, {old_json}, NULL, NULL, {shared}
    FROM old_rows AS o;
    """
)
# Rows are paired by primary key. An UPDATE that rewrites the key itself is
# logged from the new row alone (old_data NULL): nothing is dropped, but the
# pairing cannot be recovered.
#
# old_data keeps only the old values of the changed columns (the whole old row
# minus the columns found equal), new_data the whole new row: staff still see
# old -> new for every changed column, and the log stops storing each updated
# row twice. A column added since the triggers were generated is in neither
# list, so its old value is kept whenever the row is logged; when it alone
# changed, the generic comparison finds it and keeps only the changed values.
#
# The column comparison runs in a subquery kept apart by ``OFFSET 0``: without
# it the planner pulls the subquery up and copies each array expression into
# every place that names it (three for ``changed``), so every row compared
# every column four times instead of twice, and every statement compiled those
# copies again at executor start-up.
_UPDATE_SQL = sql.SQL(
    """
    INSERT INTO audit_log ({columns})
    SELECT TG_TABLE_NAME, 'UPDATE', (c.n).{pk}::text,
           CASE WHEN cardinality(c.changed) > 0 THEN {old_json} - c.unchanged
                ELSE audit_changed_values({old_json}, audit_changed_keys(to_jsonb(c.o), to_jsonb(c.n))) END,
           {new_json},
           CASE WHEN cardinality(c.changed) > 0 THEN c.changed
                ELSE audit_changed_keys(to_jsonb(c.o), to_jsonb(c.n)) END,
           {shared}
    FROM (SELECT n, o, {changed} AS changed, {unchanged} AS unchanged
          FROM new_rows AS n
          LEFT JOIN old_rows AS o ON o.{pk} = n.{pk}
          OFFSET 0) AS c
    WHERE cardinality(c.changed) > 0 OR c.o IS DISTINCT FROM c.n;
    """
)
_TRUNCATE_SQL = sql.SQL(
    """
    INSERT INTO audit_log ({columns})
    VALUES (TG_TABLE_NAME, 'TRUNCATE', NULL, NULL, NULL, NULL, {shared});
    """
)
_BODIES = {"INSERT": _INSERT_SQL, "UPDATE": _UPDATE_SQL, "DELETE": _DELETE_SQL, "TRUNCATE": _TRUNCATE_SQL}


class AuditTrigger(FastIgnoreTrigger):
    """Writes one audit_log row per row changed by an INSERT, UPDATE or DELETE (or one per TRUNCATE)."""

    when = pgtrigger.After
    level = pgtrigger.Statement

    def __init__(self, *, operation: pgtrigger.Operation, name: str | None = None) -> None:
        referencing = {
            str(pgtrigger.Insert): pgtrigger.Referencing(new="new_rows"),
            str(pgtrigger.Update): pgtrigger.Referencing(old="old_rows", new="new_rows"),
            str(pgtrigger.Delete): pgtrigger.Referencing(old="old_rows"),
            str(pgtrigger.Truncate): None,
        }[str(operation)]
        super().__init__(
            name=name or f"audit_{str(operation).lower()}",
            operation=operation,
            referencing=referencing,
            declare=STATEMENT_DECLARE + (PLAN_DECLARE if PLAN_SETTINGS[str(operation)] else []),
        )

    def get_func(self, model: Any) -> str:
        table = model._meta.db_table
        # UPDATE reads the rows through its comparison subquery ``c``.
        rows = "c." if str(self.operation) == str(pgtrigger.Update) else ""
        body = _BODIES[str(self.operation)].format(
            columns=sql.SQL(AUDIT_COLUMNS),
            shared=sql.SQL(SHARED_VALUES),
            pk=sql.Identifier(model._meta.pk.column),
            old_json=_row_json(f"{rows}o", table),
            new_json=_row_json(f"{rows}n", table),
            changed=_columns_array(model, changed=True),
            unchanged=_columns_array(model, changed=False),
        )
        before, after = _plan_settings(str(self.operation))
        return self.format_sql(STATEMENT_PROLOGUE + before + _render(body) + after + "RETURN NULL;")


def audit_triggers() -> list[pgtrigger.Trigger]:
    """The four audit triggers every audited model declares."""
    return [
        AuditTrigger(operation=pgtrigger.Insert),
        AuditTrigger(operation=pgtrigger.Update),
        AuditTrigger(operation=pgtrigger.Delete),
        AuditTrigger(operation=pgtrigger.Truncate),
    ]


# --- Triggers on audit_log itself -------------------------------------------------------

APPEND_ONLY = "append_only"
WRITTEN_BY_TRIGGERS = "written_by_triggers"
RECORD_PRUNE = "record_prune"


class AppendOnly(FastIgnoreTrigger):
    """Refuses UPDATE, DELETE and TRUNCATE of audit_log, whatever the role.

    Statement-level and BEFORE, so it refuses even a statement matching no
    rows and costs nothing per row. ``audit_prune`` is the one sanctioned way
    past it (``pgtrigger.ignore`` of this trigger, inside one transaction).
    """

    def __init__(self) -> None:
        super().__init__(
            name=APPEND_ONLY,
            when=pgtrigger.Before,
            level=pgtrigger.Statement,
            operation=pgtrigger.Update | pgtrigger.Delete | pgtrigger.Truncate,
            func=self.format_sql(
                """
                RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
                    USING ERRCODE = 'restrict_violation',
                          HINT = 'Old entries are removed with manage.py audit_prune.';
                """
            ),
        )


class WrittenByTriggers(FastIgnoreTrigger):
    """Refuses INSERTs into audit_log that do not come from a trigger.

    The audit triggers insert at trigger depth 1, so this statement-level guard
    sees depth 2 inside its function; a direct ``INSERT INTO audit_log`` (a
    forged entry) sees depth 1 and is refused. The same test is the trigger's
    ``WHEN`` condition, which PostgreSQL evaluates before entering the function,
    one level up (depth 1 for an audit trigger's insert, 0 for a forged one): an
    audited statement pays one built-in call for the guard, not a PL/pgSQL call.
    """

    def __init__(self) -> None:
        super().__init__(
            name=WRITTEN_BY_TRIGGERS,
            when=pgtrigger.Before,
            level=pgtrigger.Statement,
            operation=pgtrigger.Insert,
            condition=pgtrigger.Condition("pg_trigger_depth() < 1"),
            func=self.format_sql(
                """
                IF pg_trigger_depth() < 2 THEN
                    RAISE EXCEPTION 'audit_log rows are written by the audit triggers only'
                        USING ERRCODE = 'restrict_violation';
                END IF;
                RETURN NULL;
                """
            ),
        )


_RECORD_PRUNE_SQL = sql.SQL(
    """
    INSERT INTO audit_log ({columns})
    SELECT 'audit_log', 'DELETE', NULL,
           jsonb_build_object(
               'rows', s.rows, 'first_id', s.first_id, 'last_id', s.last_id,
               'first_changed_at', s.first_changed_at, 'last_changed_at', s.last_changed_at,
               'tables', (SELECT jsonb_object_agg(t.table_name, t.rows)
                          FROM (SELECT table_name, count(*) AS rows FROM removed GROUP BY table_name) AS t)),
           NULL, NULL, {shared}
    FROM (SELECT count(*) AS rows, min(id) AS first_id, max(id) AS last_id,
                 min(changed_at) AS first_changed_at, max(changed_at) AS last_changed_at
          FROM removed) AS s
    WHERE s.rows > 0;
    RETURN NULL;
    """
)


class RecordPrune(FastIgnoreTrigger):
    """Records every deletion from audit_log (only possible past ``append_only``) as one entry.

    The entry (table ``audit_log``, operation ``DELETE``) summarises what went:
    how many rows, their id and time ranges and the count per table, with the
    acting user and context of the deleting statement.
    """

    def __init__(self) -> None:
        super().__init__(
            name=RECORD_PRUNE,
            when=pgtrigger.After,
            level=pgtrigger.Statement,
            operation=pgtrigger.Delete,
            referencing=pgtrigger.Referencing(old="removed"),
            declare=STATEMENT_DECLARE,
            func=self.format_sql(
                STATEMENT_PROLOGUE
                + _render(_RECORD_PRUNE_SQL.format(columns=sql.SQL(AUDIT_COLUMNS), shared=sql.SQL(SHARED_VALUES)))
            ),
        )


def audit_log_triggers() -> list[pgtrigger.Trigger]:
    return [AppendOnly(), WrittenByTriggers(), RecordPrune()]

# audit_log becomes range-partitioned by month on changed_at, online.
#
# Copying a million rows into a new partitioned table would hold writers off (or need a
# trigger-synchronised batched copy and a second swap); instead the existing heap is
# attached, as it is, as ONE partition covering everything up to a month boundary:
#
# 1. CREATE UNIQUE INDEX CONCURRENTLY (id, changed_at): a partitioned table's primary key
#    must hold the partition key, and ATTACH adopts an existing matching index instead of
#    building one under its lock. Writers are never blocked.
# 2. CHECK (changed_at < bound) NOT VALID, then VALIDATE CONSTRAINT: the ADD is instant
#    (catalog only); VALIDATE scans the table under SHARE UPDATE EXCLUSIVE, which writers
#    do not wait for. With the proof, ATTACH does not scan the table.
# 3. One short transaction, catalog changes only (its duration does not grow with the
#    rows; benchmarks/bench_partitions.py measures it on 1,000,000 rows): the heap is
#    renamed audit_log_legacy, the partitioned audit_log created with the same columns,
#    check constraint, indexes (the BRIN time index per partition), sequence and guard
#    triggers, the legacy heap attached FROM (MINVALUE) TO (bound), then the DEFAULT
#    partition and the monthly ones after bound created by
#    growthcompass.partitions.ddl.create_partition (the one function that makes partitions).
#
# bound is the first day of the month after next (TIME_ZONE): the CHECK constraint holds
# for every row written while the migration runs, even across a month boundary, so no
# write ever fails for it. The legacy partition holds the history, this month and next;
# audit_prune deletes its whole months by DELETE until the cut-off passes its bound, then
# drops it like any other. An empty audit_log (a new database) is simply replaced: no
# legacy partition, monthly ones from the current month.
#
# The legacy heap's primary key becomes (id, changed_at) (the index of step 1; PostgreSQL 18
# adopts only a primary key for the parent's), and id stays unique through a second index built
# concurrently in step 1, which becomes its primary key again going back: a rename too. Backwards: the legacy partition is
# detached, the rows of the other partitions copied into it (writers wait for that
# copy, which holds what was written since the migration), the partitioned table dropped
# and the heap renamed back, with its identity column.

import datetime as dt
import importlib
import zoneinfo

from django.conf import settings
from django.db import migrations
from psycopg import sql

_write_cost = importlib.import_module("auditing.migrations.0003_audit_write_cost")

GUARDS = (_write_cost.GUARD_APPEND_ONLY, _write_cost.GUARD_WRITTEN_BY_TRIGGERS, _write_cost.GUARD_RECORD_PRUNE)
WRITTEN_BY_TRIGGERS_PGID = "pgtrigger_written_by_triggers_9bdf1"
AHEAD_MONTHS = 3  # frozen: partitions_maintain creates the rest (PARTITIONS_AHEAD)

CREATE_KEY_SQL = (
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS audit_log_id_changed_at_key ON audit_log (id, changed_at)"
)
DROP_KEY_SQL = "DROP INDEX CONCURRENTLY IF EXISTS audit_log_id_changed_at_key"
# The heap's id stays unique through a plain unique index while it is a partition (its primary key
# becomes (id, changed_at), which PostgreSQL 18 requires to adopt the index), and is its primary key
# again when going back.
CREATE_ID_KEY_SQL = "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS audit_log_id_key ON audit_log (id)"
DROP_ID_KEY_SQL = "DROP INDEX CONCURRENTLY IF EXISTS audit_log_id_key"

PARTITIONED_TABLE_SQL = """
CREATE TABLE audit_log (
    id bigint NOT NULL,
    table_name varchar(63) NOT NULL,
    operation varchar(8) NOT NULL
        CONSTRAINT audit_log_operation_valid CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    row_pk text NULL,
    old_data jsonb NULL,
    new_data jsonb NULL,
    changed_fields text[] NULL,
    changed_at timestamptz NOT NULL,
    changed_by integer NULL,
    db_role varchar(63) NOT NULL,
    application_name varchar(64) NOT NULL,
    transaction_id bigint NOT NULL,
    context jsonb NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id, changed_at)
) PARTITION BY RANGE (changed_at);
COMMENT ON TABLE audit_log IS
    'Append-only audit trail written by the audit triggers, partitioned by month; pruned only by manage.py audit_prune.';
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq');
CREATE INDEX audit_log_changed_at_brin ON audit_log USING brin (changed_at) WITH (autosummarize = on);
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_pk);
CREATE INDEX audit_log_user_time_idx ON audit_log (changed_by, changed_at) WHERE changed_by IS NOT NULL;
"""

# Index names of the heap, and what they are called once it is the legacy partition.
LEGACY_INDEXES = {
    "audit_log_pkey": "audit_log_legacy_pkey",
    "audit_log_id_changed_at_key": "audit_log_legacy_id_changed_at_key",
    "audit_log_id_key": "audit_log_legacy_id_key",
    "audit_log_changed_at_brin": "audit_log_legacy_changed_at_brin",
    "audit_log_row_idx": "audit_log_legacy_row_idx",
    "audit_log_user_time_idx": "audit_log_legacy_user_time_idx",
}

# Migration 0001's table and 0004's indexes: what the backwards step rebuilds when there is
# no legacy heap to rename back (the table was empty when partitioned).
HEAP_TABLE_SQL = """
CREATE TABLE audit_log_legacy (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    table_name varchar(63) NOT NULL,
    operation varchar(8) NOT NULL
        CONSTRAINT audit_log_operation_valid CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    row_pk text NULL,
    old_data jsonb NULL,
    new_data jsonb NULL,
    changed_fields text[] NULL,
    changed_at timestamptz NOT NULL,
    changed_by integer NULL,
    db_role varchar(63) NOT NULL,
    application_name varchar(64) NOT NULL,
    transaction_id bigint NOT NULL,
    context jsonb NULL
);
CREATE INDEX audit_log_legacy_changed_at_brin ON audit_log_legacy USING brin (changed_at) WITH (autosummarize = on);
CREATE INDEX audit_log_legacy_row_idx ON audit_log_legacy (table_name, row_pk);
CREATE INDEX audit_log_legacy_user_time_idx ON audit_log_legacy (changed_by, changed_at) WHERE changed_by IS NOT NULL;
"""
HEAP_COMMENT_SQL = """
COMMENT ON TABLE audit_log IS
    'Append-only audit trail written by the audit triggers; pruned only by manage.py audit_prune.';
"""


def _month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _start(month: dt.date) -> dt.datetime:
    return dt.datetime.combine(month, dt.time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _legacy_bound() -> dt.datetime:
    today = dt.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
    return _start(_month(today.replace(day=1), 2))


def _literal(moment: dt.datetime) -> str:
    # DDL takes no bind parameters: the bound is written in, quoted by psycopg.
    return sql.Literal(moment).as_string(None)


def _one(cursor, query, params=()):
    cursor.execute(query, params)
    return cursor.fetchone()[0]


def _is_partitioned(cursor) -> bool:
    return bool(_one(cursor, "SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass('audit_log')"))


def _has_constraint(cursor, name: str) -> bool:
    return bool(_one(cursor, "SELECT count(*) FROM pg_constraint WHERE conname = %s", [name]))


def prove_legacy_range(apps, schema_editor):
    """Step 2: the CHECK constraint that lets ATTACH skip its scan (no-op on an empty or converted table)."""
    with schema_editor.connection.cursor() as cursor:
        if _is_partitioned(cursor) or not _one(cursor, "SELECT EXISTS (SELECT FROM audit_log)"):
            return
        if not _has_constraint(cursor, "audit_log_legacy_range"):
            cursor.execute(
                f"ALTER TABLE audit_log ADD CONSTRAINT audit_log_legacy_range CHECK (changed_at < {_literal(_legacy_bound())}) NOT VALID"
            )
        cursor.execute("ALTER TABLE audit_log VALIDATE CONSTRAINT audit_log_legacy_range")


def partition(apps, schema_editor):
    """Step 3: the swap, in one transaction (see the top of this file)."""
    from django.db import transaction

    from growthcompass.partitions import get
    from growthcompass.partitions.ddl import clone_statement_triggers, create_partition

    connection = schema_editor.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if _is_partitioned(cursor):
            return
        cursor.execute("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
        sequence = _one(cursor, "SELECT pg_get_serial_sequence('audit_log', 'id')")
        next_id = _one(cursor, f"SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {sequence}")  # noqa: S608 - from pg_get_serial_sequence
        next_id = max(next_id, (_one(cursor, "SELECT max(id) FROM audit_log") or 0) + 1)
        has_rows = bool(_one(cursor, "SELECT EXISTS (SELECT FROM audit_log)"))
        table = get("audit_log")
        if has_rows:
            bound = _legacy_bound()
            if not _has_constraint(cursor, "audit_log_legacy_range"):  # rows arrived since step 2
                cursor.execute(
                    f"ALTER TABLE audit_log ADD CONSTRAINT audit_log_legacy_range CHECK (changed_at < {_literal(bound)})"
                )
            else:
                bound = _one(
                    cursor,
                    "SELECT (regexp_match(pg_get_constraintdef(oid), '< ''([^'']+)'''))[1]::timestamptz"
                    " FROM pg_constraint WHERE conname = 'audit_log_legacy_range'",
                )
            cursor.execute("ALTER TABLE audit_log RENAME TO audit_log_legacy")
            for old, new in LEGACY_INDEXES.items():
                cursor.execute(f"ALTER INDEX {old} RENAME TO {new}")
            # The parent's primary key (id, changed_at) adopts the heap's index only if that index
            # backs the heap's own primary key (PostgreSQL 18; 15 also takes a unique constraint):
            # the key on id steps down to the plain unique index built in step 1. Both are catalog
            # changes: no index is built under this lock.
            cursor.execute("ALTER TABLE audit_log_legacy DROP CONSTRAINT audit_log_legacy_pkey")
            cursor.execute(
                "ALTER TABLE audit_log_legacy ADD CONSTRAINT audit_log_legacy_id_changed_at_key"
                " PRIMARY KEY USING INDEX audit_log_legacy_id_changed_at_key"
            )
            # An identity column's sequence belongs to its table; the parent gets its own.
            cursor.execute("ALTER TABLE audit_log_legacy ALTER COLUMN id DROP IDENTITY")
        else:
            cursor.execute("DROP TABLE audit_log")
        cursor.execute(PARTITIONED_TABLE_SQL)
        cursor.execute("SELECT setval('audit_log_id_seq', %s, false)", [next_id])
        for guard in GUARDS:
            cursor.execute(guard.install_sql)
        first_month = dt.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date().replace(day=1)
        if has_rows:
            cursor.execute(
                f"ALTER TABLE audit_log ATTACH PARTITION audit_log_legacy FOR VALUES FROM (MINVALUE) TO ({_literal(bound)})"
            )
            cursor.execute("ALTER TABLE audit_log_legacy DROP CONSTRAINT audit_log_legacy_range")
            clone_statement_triggers(cursor, parent="audit_log", partition="audit_log_legacy")
            first_month = bound.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
        create_partition(cursor, table, lower=None, upper=None, name=table.default_partition, default=True)
        month = first_month
        while month <= _month(dt.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date(), AHEAD_MONTHS):
            upper = _month(month, 1)
            create_partition(cursor, table, lower=_start(month), upper=_start(upper), name=table.partition_name(month))
            month = upper


def unpartition(apps, schema_editor):
    """Backwards: the legacy partition (or a new heap) becomes audit_log again, holding every row."""
    from django.db import transaction

    connection = schema_editor.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if not _is_partitioned(cursor):
            return
        cursor.execute("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
        next_id = _one(
            cursor, "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM audit_log_id_seq"
        )
        legacy = _one(
            cursor,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_log'::regclass"
            " AND inhrelid = to_regclass('audit_log_legacy')",
        )
        if legacy:
            cursor.execute("ALTER TABLE audit_log DETACH PARTITION audit_log_legacy")
        else:
            cursor.execute(HEAP_TABLE_SQL)
        # The legacy heap's own forged-insert guard stands aside for this copy (pgtrigger's
        # ignore setting names triggers by their PostgreSQL name).
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + WRITTEN_BY_TRIGGERS_PGID + "}"])
        cursor.execute("INSERT INTO audit_log_legacy SELECT * FROM audit_log")
        cursor.execute("SELECT set_config('pgtrigger.ignore', '', true)")
        cursor.execute("DROP TABLE audit_log")
        cursor.execute("ALTER TABLE audit_log_legacy DROP CONSTRAINT IF EXISTS audit_log_legacy_id_changed_at_key")
        cursor.execute("ALTER TABLE audit_log_legacy DROP CONSTRAINT IF EXISTS audit_log_legacy_range")
        if _one(cursor, "SELECT to_regclass('audit_log_legacy_id_key') IS NOT NULL"):
            # The heap that was attached: its id key becomes its primary key again (the index exists).
            cursor.execute(
                "ALTER TABLE audit_log_legacy ADD CONSTRAINT audit_log_legacy_pkey"
                " PRIMARY KEY USING INDEX audit_log_legacy_id_key"
            )
        cursor.execute("ALTER TABLE audit_log_legacy RENAME TO audit_log")
        for old, new in LEGACY_INDEXES.items():
            if old not in ("audit_log_id_changed_at_key", "audit_log_id_key"):
                cursor.execute(f"ALTER INDEX IF EXISTS {new} RENAME TO {old}")
        if not _one(
            cursor,
            "SELECT attidentity <> '' FROM pg_attribute WHERE attrelid = 'audit_log'::regclass AND attname = 'id'",
        ):
            cursor.execute("ALTER TABLE audit_log ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), %s, false)", [next_id])
        cursor.execute(HEAP_COMMENT_SQL)
        for guard in GUARDS:
            cursor.execute(guard.install_sql)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("auditing", "0005_table_generation_triggers"),
    ]

    operations = [
        migrations.RunSQL(sql=CREATE_KEY_SQL, reverse_sql=DROP_KEY_SQL),
        migrations.RunSQL(sql=CREATE_ID_KEY_SQL, reverse_sql=DROP_ID_KEY_SQL),
        migrations.RunPython(prove_legacy_range, migrations.RunPython.noop),
        migrations.RunPython(partition, unpartition),
    ]

# attendances gets session_date, the session's date carried on the row: the key migration
# 0007 partitions the table by. Online on a table of millions of rows, and reversible:
#
# 1. The column, nullable (catalog only), and the audit UPDATE trigger regenerated to
#    compare it too.
# 2. class_sessions (id, session_date) UNIQUE, from an index built CONCURRENTLY: what the
#    composite foreign key references.
# 3. A temporary BEFORE INSERT OR UPDATE trigger on the heap fills session_date from the
#    session while the code that does not know the column may still write (0007 drops it:
#    a partitioned table cannot route a row by a key its own trigger sets).
# 4. The backfill, in batches of BACKFILL_BATCH ids, each its own short transaction: a
#    batch locks only its own rows, so writers of other rows never wait, and the audit and
#    cache triggers stand aside (copying a date is no change of the attendance).
# 5. CHECK (session_date IS NOT NULL) and the composite foreign key (session_id,
#    session_date) -> class_sessions (id, session_date) ON UPDATE CASCADE, each added
#    NOT VALID (instant) and then VALIDATEd (a scan under SHARE UPDATE EXCLUSIVE, which
#    writers do not wait for). 0007 turns the check into NOT NULL without a scan.

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

import attendance.fields
import growthcompass.db.trigger_sql

BACKFILL_BATCH = 10_000
# The triggers the backfill's UPDATEs pass by, by their PostgreSQL names (pgtrigger.ignore).
BACKFILL_IGNORES = "{pgtrigger_audit_update_671df,pgtrigger_queryset_tables_70d9c}"

ADD_COLUMN_SQL = "ALTER TABLE attendances ADD COLUMN IF NOT EXISTS session_date date NULL"
DROP_COLUMN_SQL = "ALTER TABLE attendances DROP COLUMN IF EXISTS session_date"

SESSION_KEY_SQL = [
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS class_sessions_id_session_date_key"
    " ON class_sessions (id, session_date)",
    "ALTER TABLE class_sessions ADD CONSTRAINT class_sessions_id_session_date_key"
    " UNIQUE USING INDEX class_sessions_id_session_date_key",
]
DROP_SESSION_KEY_SQL = "ALTER TABLE class_sessions DROP CONSTRAINT IF EXISTS class_sessions_id_session_date_key"

FILL_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION attendances_fill_session_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.session_date IS NULL OR (TG_OP = 'UPDATE' AND NEW.session_id IS DISTINCT FROM OLD.session_id
                                    AND NEW.session_date IS NOT DISTINCT FROM OLD.session_date) THEN
        SELECT cs.session_date INTO NEW.session_date FROM class_sessions AS cs WHERE cs.id = NEW.session_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER attendances_fill_session_date BEFORE INSERT OR UPDATE ON attendances
    FOR EACH ROW EXECUTE FUNCTION attendances_fill_session_date();
"""
DROP_FILL_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS attendances_fill_session_date ON attendances;
DROP FUNCTION IF EXISTS attendances_fill_session_date();
"""

NOT_NULL_SQL = [
    "ALTER TABLE attendances ADD CONSTRAINT attendances_session_date_not_null"
    " CHECK (session_date IS NOT NULL) NOT VALID",
    "ALTER TABLE attendances VALIDATE CONSTRAINT attendances_session_date_not_null",
]
DROP_NOT_NULL_SQL = "ALTER TABLE attendances DROP CONSTRAINT IF EXISTS attendances_session_date_not_null"

SESSION_DATE_FK_SQL = [
    "ALTER TABLE attendances ADD CONSTRAINT attendances_session_date_fk FOREIGN KEY (session_id, session_date)"
    " REFERENCES class_sessions (id, session_date) ON UPDATE CASCADE NOT VALID",
    "ALTER TABLE attendances VALIDATE CONSTRAINT attendances_session_date_fk",
]
DROP_SESSION_DATE_FK_SQL = "ALTER TABLE attendances DROP CONSTRAINT IF EXISTS attendances_session_date_fk"

BACKFILL_SQL = """
UPDATE attendances AS a SET session_date = cs.session_date
  FROM class_sessions AS cs
 WHERE cs.id = a.session_id AND a.id >= %s AND a.id < %s AND a.session_date IS NULL
"""


def backfill(apps, schema_editor):
    """Step 4: session_date of the existing rows, BACKFILL_BATCH ids per transaction."""
    from django.db import transaction

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM attendances WHERE session_date IS NULL")
        low, high = cursor.fetchone()
    if low is None:
        return
    while low <= high:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [BACKFILL_IGNORES])
            cursor.execute(BACKFILL_SQL, [low, low + BACKFILL_BATCH])
        low += BACKFILL_BATCH


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('attendance', '0005_table_generation_triggers'),
        ('courses', '0004_table_generation_triggers'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='attendance',
            name='audit_update',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='attendance',
                    name='session_date',
                    field=attendance.fields.SessionDateField(default=None),
                    preserve_default=False,
                ),
            ],
            database_operations=[migrations.RunSQL(sql=ADD_COLUMN_SQL, reverse_sql=DROP_COLUMN_SQL)],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='attendance',
            trigger=pgtrigger.compiler.Trigger(name='audit_update', sql=growthcompass.db.trigger_sql.FastIgnoreTriggerSql(declare='DECLARE _ctx jsonb; _user integer; _at timestamptz; _role text; _app text; _xid bigint; _jit text; _enable_nestloop text; _enable_mergejoin text; _set text;', func='IF current_setting(\'growthcompass.audit_context\', true) <> \'\' THEN _ctx := audit_context_from_setting(); _user := (_ctx ->> \'user_id\')::integer; _ctx := NULLIF(_ctx - \'user_id\', \'{}\'::jsonb); END IF; _at := statement_timestamp(); _role := current_user; _app := current_setting(\'application_name\'); _xid := pg_current_xact_id()::text::bigint; _jit := current_setting(\'jit\'); _set := set_config(\'jit\', \'off\', true); _enable_nestloop := current_setting(\'enable_nestloop\'); _set := set_config(\'enable_nestloop\', \'off\', true); _enable_mergejoin := current_setting(\'enable_mergejoin\'); _set := set_config(\'enable_mergejoin\', \'off\', true); INSERT INTO audit_log (table_name, operation, row_pk, old_data, new_data, changed_fields, changed_at, changed_by, db_role, application_name, transaction_id, context) SELECT TG_TABLE_NAME, \'UPDATE\', n."id"::text, CASE WHEN cardinality(c.changed) > 0 THEN to_jsonb("o") - c.unchanged ELSE audit_changed_values(to_jsonb("o"), audit_changed_keys(to_jsonb(o), to_jsonb(n))) END, to_jsonb("n"), CASE WHEN cardinality(c.changed) > 0 THEN c.changed ELSE audit_changed_keys(to_jsonb(o), to_jsonb(n)) END, _at, _user, _role, _app, _xid, _ctx FROM new_rows AS n LEFT JOIN old_rows AS o ON o."id" = n."id" CROSS JOIN LATERAL (SELECT array_remove(ARRAY[CASE WHEN o."id" IS DISTINCT FROM n."id" THEN \'id\' END, CASE WHEN o."student_id" IS DISTINCT FROM n."student_id" THEN \'student_id\' END, CASE WHEN o."session_id" IS DISTINCT FROM n."session_id" THEN \'session_id\' END, CASE WHEN o."session_date" IS DISTINCT FROM n."session_date" THEN \'session_date\' END, CASE WHEN o."status" IS DISTINCT FROM n."status" THEN \'status\' END, CASE WHEN o."minutes_late" IS DISTINCT FROM n."minutes_late" THEN \'minutes_late\' END, CASE WHEN o."recorded_by_id" IS DISTINCT FROM n."recorded_by_id" THEN \'recorded_by_id\' END, CASE WHEN o."created_at" IS DISTINCT FROM n."created_at" THEN \'created_at\' END, CASE WHEN o."note" IS DISTINCT FROM n."note" THEN \'note\' END]::text[], NULL) AS changed, array_remove(ARRAY[CASE WHEN o."id" IS NOT DISTINCT FROM n."id" THEN \'id\' END, CASE WHEN o."student_id" IS NOT DISTINCT FROM n."student_id" THEN \'student_id\' END, CASE WHEN o."session_id" IS NOT DISTINCT FROM n."session_id" THEN \'session_id\' END, CASE WHEN o."session_date" IS NOT DISTINCT FROM n."session_date" THEN \'session_date\' END, CASE WHEN o."status" IS NOT DISTINCT FROM n."status" THEN \'status\' END, CASE WHEN o."minutes_late" IS NOT DISTINCT FROM n."minutes_late" THEN \'minutes_late\' END, CASE WHEN o."recorded_by_id" IS NOT DISTINCT FROM n."recorded_by_id" THEN \'recorded_by_id\' END, CASE WHEN o."created_at" IS NOT DISTINCT FROM n."created_at" THEN \'created_at\' END, CASE WHEN o."note" IS NOT DISTINCT FROM n."note" THEN \'note\' END]::text[], NULL) AS unchanged) AS c WHERE cardinality(c.changed) > 0 OR o IS DISTINCT FROM n; _set := set_config(\'jit\', _jit, true); _set := set_config(\'enable_nestloop\', _enable_nestloop, true); _set := set_config(\'enable_mergejoin\', _enable_mergejoin, true); RETURN NULL;', hash='9a73d627d4a43c564ce174bed69e9d91ee2fa24e', level='STATEMENT', operation='UPDATE', pgid='pgtrigger_audit_update_671df', referencing='REFERENCING OLD TABLE AS old_rows  NEW TABLE AS new_rows ', table='attendances', when='AFTER')),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name='classsession',
                    constraint=models.UniqueConstraint(
                        fields=('id', 'session_date'), name='class_sessions_id_session_date_key'
                    ),
                ),
            ],
            database_operations=[migrations.RunSQL(sql=SESSION_KEY_SQL, reverse_sql=DROP_SESSION_KEY_SQL)],
        ),
        migrations.RunSQL(sql=FILL_TRIGGER_SQL, reverse_sql=DROP_FILL_TRIGGER_SQL),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunSQL(sql=NOT_NULL_SQL, reverse_sql=DROP_NOT_NULL_SQL),
        migrations.RunSQL(sql=SESSION_DATE_FK_SQL, reverse_sql=DROP_SESSION_DATE_FK_SQL),
    ]

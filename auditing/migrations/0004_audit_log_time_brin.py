# The time index of audit_log becomes a BRIN index on changed_at.
#
# Entries arrive in changed_at order, so a BRIN index (a few pages for millions of
# rows) finds a time window as well as the B-tree on (table_name, changed_at) did for
# the staff queries that use it ("this table's changes this month": the window from
# BRIN, the table from a filter), while an insert no longer pays a B-tree insertion.
# A row's history keeps audit_log_row_idx (table_name, row_pk); a user's activity
# keeps audit_log_user_time_idx. autosummarize: each filled block range is summarized
# by autovacuum soon after, not at the next vacuum (an unsummarized range matches every
# query). Built and dropped concurrently: writers are never blocked.

from django.db import migrations

CREATE_BRIN_SQL = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_changed_at_brin ON audit_log USING brin (changed_at)"
    " WITH (autosummarize = on)"
)
DROP_BRIN_SQL = "DROP INDEX CONCURRENTLY IF EXISTS audit_log_changed_at_brin"
CREATE_TABLE_TIME_SQL = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_table_time_idx ON audit_log (table_name, changed_at)"
)
DROP_TABLE_TIME_SQL = "DROP INDEX CONCURRENTLY IF EXISTS audit_log_table_time_idx"


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('auditing', '0003_audit_write_cost'),
    ]

    operations = [
        migrations.RunSQL(sql=CREATE_BRIN_SQL, reverse_sql=DROP_BRIN_SQL),
        migrations.RunSQL(sql=DROP_TABLE_TIME_SQL, reverse_sql=CREATE_TABLE_TIME_SQL),
    ]

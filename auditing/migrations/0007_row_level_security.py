"""Row-level security of the auditing app, frozen from auditing/rls.py (growthcompass.rls.freezing.migration_source).

"""

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql, remove_sql

TABLES = ('audit_log',)
POLICIES = (
    Policy(table='audit_log', name='audit_log_admin_read', command='SELECT', using='(SELECT gc_rls_is_admin())', check=None),
    Policy(table='audit_log', name='audit_log_insert', command='INSERT', using=None, check='true'),
    Policy(table='audit_log', name='audit_log_admin_delete', command='DELETE', using='(SELECT gc_rls_is_admin())', check=None),
)


class Migration(migrations.Migration):
    dependencies = [
        ('auditing', '0006_audit_log_partitioned'),
        ('rls', '0001_initial'),
    ]

    operations = [
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=remove_sql(tables=TABLES, policies=POLICIES),
        ),
    ]

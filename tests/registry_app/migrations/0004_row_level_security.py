"""Row-level security of the registry_app app, frozen from registry_app/rls.py (growthcompass.rls.freezing.migration_source).

"""

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql, remove_sql

TABLES = ('registry_widgets',)
POLICIES = (
    Policy(table='registry_widgets', name='registry_widgets_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
)


class Migration(migrations.Migration):
    dependencies = [
        ('registry_app', '0003_table_generation_triggers'),
        ('rls', '0001_initial'),
    ]

    operations = [
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=remove_sql(tables=TABLES, policies=POLICIES),
        ),
    ]

"""Row-level security of the students app, frozen from students/rls.py (growthcompass.rls.freezing.migration_source).

"""

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql, remove_sql

TABLES = ('students', 'guardians')
POLICIES = (
    Policy(table='students', name='students_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='guardians', name='guardians_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
)


class Migration(migrations.Migration):
    dependencies = [
        ('students', '0006_table_generation_triggers'),
        ('rls', '0001_initial'),
    ]

    operations = [
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=remove_sql(tables=TABLES, policies=POLICIES),
        ),
    ]

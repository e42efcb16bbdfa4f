"""Row-level security of the feedback app, frozen from feedback/rls.py (growthcompass.rls.freezing.migration_source).

"""

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql, remove_sql

TABLES = ('parsed_student_feedback',)
POLICIES = (
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_teacher_read', command='SELECT', using='author_id = (SELECT gc_rls_teacher_id()) OR session_id IN (SELECT gc_rls_teacher_session_ids())', check=None),
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_teacher_insert', command='INSERT', using=None, check='session_id IN (SELECT gc_rls_teacher_session_ids()) AND student_id IN (SELECT gc_rls_teacher_student_ids())'),
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_teacher_update', command='UPDATE', using='session_id IN (SELECT gc_rls_teacher_session_ids()) AND student_id IN (SELECT gc_rls_teacher_student_ids())', check='session_id IN (SELECT gc_rls_teacher_session_ids()) AND student_id IN (SELECT gc_rls_teacher_student_ids())'),
)


class Migration(migrations.Migration):
    dependencies = [
        ('feedback', '0004_table_generation_triggers'),
        ('attendance', '0008_row_level_security'),
    ]

    operations = [
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=remove_sql(tables=TABLES, policies=POLICIES),
        ),
    ]

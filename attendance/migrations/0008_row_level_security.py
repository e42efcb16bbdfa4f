"""Row-level security of the attendance app, frozen from attendance/rls.py (growthcompass.rls.freezing.migration_source).

"""

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql, remove_sql

TABLES = ('class_sessions', 'attendances')
POLICIES = (
    Policy(table='class_sessions', name='class_sessions_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='class_sessions', name='class_sessions_teacher_read', command='SELECT', using='course_id IN (SELECT gc_rls_teacher_course_ids())', check=None),
    Policy(table='attendances', name='attendances_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='attendances', name='attendances_teacher_read', command='SELECT', using='session_id IN (SELECT gc_rls_teacher_session_ids())', check=None),
    Policy(table='attendances', name='attendances_teacher_insert', command='INSERT', using=None, check='session_id IN (SELECT gc_rls_teacher_session_ids()) AND student_id IN (SELECT gc_rls_teacher_student_ids())'),
    Policy(table='attendances', name='attendances_teacher_update', command='UPDATE', using='session_id IN (SELECT gc_rls_teacher_session_ids()) AND student_id IN (SELECT gc_rls_teacher_student_ids())', check='session_id IN (SELECT gc_rls_teacher_session_ids()) AND student_id IN (SELECT gc_rls_teacher_student_ids())'),
)

FUNCTIONS = """
-- The sessions of the scope's teacher's courses (see courses 0005 for why SECURITY DEFINER).
CREATE OR REPLACE FUNCTION gc_rls_teacher_session_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.id FROM class_sessions s JOIN courses c ON c.id = s.course_id WHERE c.teacher_id = gc_rls_teacher_id()
$$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS gc_rls_teacher_session_ids();
"""


class Migration(migrations.Migration):
    dependencies = [
        ('attendance', '0007_attendances_partitioned'),
        ('courses', '0005_row_level_security'),
    ]

    operations = [
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=remove_sql(tables=TABLES, policies=POLICIES),
        ),
    ]

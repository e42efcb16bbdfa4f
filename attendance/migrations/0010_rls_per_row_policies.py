"""Teacher policies on sessions and attendance that staff scopes skip, with students probed per row.

Frozen from attendance/rls.py (growthcompass.rls.freezing); the way back restores 0008_row_level_security's policies.
"""

import importlib

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql

PREVIOUS = importlib.import_module("attendance.migrations.0008_row_level_security")

TABLES = PREVIOUS.TABLES
POLICIES = (
    Policy(table='class_sessions', name='class_sessions_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='class_sessions', name='class_sessions_teacher_read', command='SELECT', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND course_id IN (SELECT gc_rls_teacher_course_ids())', check=None),
    Policy(table='attendances', name='attendances_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='attendances', name='attendances_teacher_read', command='SELECT', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND session_id IN (SELECT gc_rls_teacher_session_ids())', check=None),
    Policy(table='attendances', name='attendances_teacher_insert', command='INSERT', using=None, check='(SELECT gc_rls_teacher_id()) IS NOT NULL AND session_id IN (SELECT gc_rls_teacher_session_ids()) AND (SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = attendances.student_id AND r.term_starts_on <= current_date)'),
    Policy(table='attendances', name='attendances_teacher_update', command='UPDATE', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND session_id IN (SELECT gc_rls_teacher_session_ids()) AND (SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = attendances.student_id AND r.term_starts_on <= current_date)', check='(SELECT gc_rls_teacher_id()) IS NOT NULL AND session_id IN (SELECT gc_rls_teacher_session_ids()) AND (SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = attendances.student_id AND r.term_starts_on <= current_date)'),
)

# The teacher's sessions in PL/pgSQL: its plan is kept per session (an SQL function re-planned it).
FUNCTIONS = """
CREATE OR REPLACE FUNCTION gc_rls_teacher_session_ids() RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY SELECT s.id FROM class_sessions s JOIN courses c ON c.id = s.course_id
   WHERE c.teacher_id = gc_rls_teacher_id();
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ('attendance', '0009_statement_trigger_cost'),
        ('courses', '0008_rls_teacher_students'),
    ]

    operations = [
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=PREVIOUS.FUNCTIONS),
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=apply_sql(tables=PREVIOUS.TABLES, policies=PREVIOUS.POLICIES),
        ),
    ]

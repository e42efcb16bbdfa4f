"""Teacher policies on feedback that staff scopes skip, with students probed per row.

Frozen from feedback/rls.py (growthcompass.rls.freezing); the way back restores 0005_row_level_security's policies.
"""

import importlib

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql

PREVIOUS = importlib.import_module("feedback.migrations.0005_row_level_security")

TABLES = PREVIOUS.TABLES
POLICIES = (
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_teacher_read', command='SELECT', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND (author_id = (SELECT gc_rls_teacher_id()) OR session_id IN (SELECT gc_rls_teacher_session_ids()))', check=None),
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_teacher_insert', command='INSERT', using=None, check='(SELECT gc_rls_teacher_id()) IS NOT NULL AND session_id IN (SELECT gc_rls_teacher_session_ids()) AND (SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = parsed_student_feedback.student_id AND r.term_starts_on <= current_date)'),
    Policy(table='parsed_student_feedback', name='parsed_student_feedback_teacher_update', command='UPDATE', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND session_id IN (SELECT gc_rls_teacher_session_ids()) AND (SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = parsed_student_feedback.student_id AND r.term_starts_on <= current_date)', check='(SELECT gc_rls_teacher_id()) IS NOT NULL AND session_id IN (SELECT gc_rls_teacher_session_ids()) AND (SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = parsed_student_feedback.student_id AND r.term_starts_on <= current_date)'),
)


class Migration(migrations.Migration):
    dependencies = [
        ('feedback', '0006_statement_trigger_cost'),
        ('attendance', '0010_rls_per_row_policies'),
    ]

    operations = [
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=apply_sql(tables=PREVIOUS.TABLES, policies=PREVIOUS.POLICIES),
        ),
    ]

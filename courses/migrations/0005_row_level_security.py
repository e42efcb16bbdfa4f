"""Row-level security of the courses app, frozen from courses/rls.py (growthcompass.rls.freezing.migration_source).

"""

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql, remove_sql

TABLES = ('terms', 'courses', 'enrollments')
POLICIES = (
    Policy(table='terms', name='terms_read', command='SELECT', using='((SELECT gc_rls_kind()) IS NOT NULL)', check=None),
    Policy(table='terms', name='terms_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='courses', name='courses_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='courses', name='courses_teacher_read', command='SELECT', using='teacher_id = (SELECT gc_rls_teacher_id())', check=None),
    Policy(table='enrollments', name='enrollments_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='enrollments', name='enrollments_teacher_read', command='SELECT', using='course_id IN (SELECT gc_rls_teacher_course_ids())', check=None),
    Policy(table='students', name='students_teacher_read', command='SELECT', using='id IN (SELECT gc_rls_teacher_student_ids())', check=None),
    Policy(table='guardians', name='guardians_teacher_read', command='SELECT', using='student_id IN (SELECT gc_rls_teacher_student_ids())', check=None),
)

FUNCTIONS = """
-- The scope's teacher's courses, and the students enrolled (active or completed) in one of them in a
-- term that has begun. SECURITY DEFINER: they filter by the scope themselves, so a policy calling them
-- never recurses into the policies of the tables they read; STABLE: one evaluation per statement.
CREATE OR REPLACE FUNCTION gc_rls_teacher_course_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT id FROM courses WHERE teacher_id = gc_rls_teacher_id()
$$;
CREATE OR REPLACE FUNCTION gc_rls_teacher_student_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT DISTINCT e.student_id
    FROM courses c
    JOIN terms t ON t.id = c.term_id
    JOIN enrollments e ON e.course_id = c.id
   WHERE c.teacher_id = gc_rls_teacher_id()
     AND e.status IN ('active', 'completed')
     AND t.starts_on <= current_date
$$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS gc_rls_teacher_student_ids();
DROP FUNCTION IF EXISTS gc_rls_teacher_course_ids();
"""


class Migration(migrations.Migration):
    dependencies = [
        ('courses', '0004_table_generation_triggers'),
        ('students', '0007_row_level_security'),
    ]

    operations = [
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=remove_sql(tables=TABLES, policies=POLICIES),
        ),
    ]

"""A teacher's students as rows probed per row, and row-level-security policies that skip staff.

``rls_teacher_students`` holds, for each teacher, the students with an active
or completed enrolment in one of their courses, with the term's first day
(policies keep the rows whose term has begun). Statement-level triggers on
enrolments, courses and terms keep it equal to that join: every statement
recomputes the courses it touched, as the table's owner. Nothing else writes
it; the application role may only read it, a teacher only their own rows.

The students and guardians policies probe its primary key with a correlated
``EXISTS``, and every teacher policy begins with ``gc_rls_teacher_id() IS NOT
NULL``, so staff scopes never build a teacher's set. The set functions become
PL/pgSQL, which keeps their plans for the session where SQL functions
re-planned their query in every statement.

Frozen from courses/rls.py (growthcompass.rls.freezing); the way back restores
0005's policies and functions.
"""

import importlib

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql

PREVIOUS = importlib.import_module("courses.migrations.0005_row_level_security")

TABLES = ('terms', 'courses', 'enrollments')
POLICIES = (
    Policy(table='terms', name='terms_read', command='SELECT', using='((SELECT gc_rls_kind()) IS NOT NULL)', check=None),
    Policy(table='terms', name='terms_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='courses', name='courses_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='courses', name='courses_teacher_read', command='SELECT', using='teacher_id = (SELECT gc_rls_teacher_id())', check=None),
    Policy(table='enrollments', name='enrollments_staff', command='ALL', using='(SELECT gc_rls_sees_all())', check='(SELECT gc_rls_sees_all())'),
    Policy(table='enrollments', name='enrollments_teacher_read', command='SELECT', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND course_id IN (SELECT gc_rls_teacher_course_ids())', check=None),
    Policy(table='students', name='students_teacher_read', command='SELECT', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = students.id AND r.term_starts_on <= current_date)', check=None),
    Policy(table='guardians', name='guardians_teacher_read', command='SELECT', using='(SELECT gc_rls_teacher_id()) IS NOT NULL AND EXISTS (SELECT 1 FROM rls_teacher_students r WHERE r.teacher_id = (SELECT gc_rls_teacher_id()) AND r.student_id = guardians.student_id AND r.term_starts_on <= current_date)', check=None),
)

TABLE = """
CREATE TABLE rls_teacher_students (
  teacher_id integer NOT NULL,
  student_id integer NOT NULL,
  course_id bigint NOT NULL,
  term_starts_on date NOT NULL,
  PRIMARY KEY (teacher_id, student_id, course_id)
);
CREATE INDEX rls_teacher_students_course ON rls_teacher_students (course_id);
COMMENT ON TABLE rls_teacher_students IS
  'Derived: students with an active or completed enrolment in a teacher''s courses (row-level security). '
  'Kept by triggers on enrollments, courses and terms; never written by hand.';
ALTER TABLE rls_teacher_students ENABLE ROW LEVEL SECURITY;
-- A teacher reads their own rows; staff read every row (they see every enrolment anyway).
CREATE POLICY rls_teacher_students_read ON rls_teacher_students FOR SELECT TO PUBLIC
  USING (teacher_id = (SELECT gc_rls_teacher_id()) OR (SELECT gc_rls_sees_all()));
GRANT SELECT ON rls_teacher_students TO growthcompass_app;

-- Recompute the rows of these courses from their definition. SECURITY DEFINER: the application
-- role writing enrolments may not write this table. It reads in a system scope of its own, so an
-- owner without BYPASSRLS sees every enrolment whatever scope the writer had.
CREATE FUNCTION gc_rls_teacher_students_sync(course_ids bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  scope text := current_setting('growthcompass.rls_kind', true);
BEGIN
  IF cardinality(course_ids) = 0 THEN
    RETURN;
  END IF;
  PERFORM set_config('growthcompass.rls_kind', 'system', true);
  DELETE FROM rls_teacher_students WHERE course_id = ANY (course_ids);
  INSERT INTO rls_teacher_students (teacher_id, student_id, course_id, term_starts_on)
  SELECT c.teacher_id, e.student_id, c.id, t.starts_on
    FROM courses c
    JOIN terms t ON t.id = c.term_id
    JOIN enrollments e ON e.course_id = c.id
   WHERE c.id = ANY (course_ids) AND c.teacher_id IS NOT NULL AND e.status IN ('active', 'completed');
  PERFORM set_config('growthcompass.rls_kind', coalesce(scope, ''), true);
END $$;
REVOKE ALL ON FUNCTION gc_rls_teacher_students_sync(bigint[]) FROM PUBLIC;

CREATE FUNCTION gc_rls_teacher_students_enrollments() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM gc_rls_teacher_students_sync(ARRAY(SELECT DISTINCT course_id FROM new_rows));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM gc_rls_teacher_students_sync(ARRAY(
      SELECT o.course_id FROM old_rows o UNION SELECT n.course_id FROM new_rows n));
  ELSE
    PERFORM gc_rls_teacher_students_sync(ARRAY(SELECT DISTINCT course_id FROM old_rows));
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION gc_rls_teacher_students_courses() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    PERFORM gc_rls_teacher_students_sync(ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
       WHERE n.teacher_id IS DISTINCT FROM o.teacher_id OR n.term_id IS DISTINCT FROM o.term_id));
  ELSE
    DELETE FROM rls_teacher_students WHERE course_id IN (SELECT id FROM old_rows);
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION gc_rls_teacher_students_terms() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE rls_teacher_students r SET term_starts_on = n.starts_on
    FROM courses c, new_rows n
   WHERE r.course_id = c.id AND c.term_id = n.id AND r.term_starts_on IS DISTINCT FROM n.starts_on;
  RETURN NULL;
END $$;
CREATE FUNCTION gc_rls_teacher_students_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  TRUNCATE rls_teacher_students;
  RETURN NULL;
END $$;

CREATE TRIGGER rls_teacher_students_ins AFTER INSERT ON enrollments REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gc_rls_teacher_students_enrollments();
CREATE TRIGGER rls_teacher_students_upd AFTER UPDATE ON enrollments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gc_rls_teacher_students_enrollments();
CREATE TRIGGER rls_teacher_students_del AFTER DELETE ON enrollments REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gc_rls_teacher_students_enrollments();
CREATE TRIGGER rls_teacher_students_trunc AFTER TRUNCATE ON enrollments
  FOR EACH STATEMENT EXECUTE FUNCTION gc_rls_teacher_students_truncated();
CREATE TRIGGER rls_teacher_students_upd AFTER UPDATE ON courses REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gc_rls_teacher_students_courses();
CREATE TRIGGER rls_teacher_students_del AFTER DELETE ON courses REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gc_rls_teacher_students_courses();
CREATE TRIGGER rls_teacher_students_upd AFTER UPDATE ON terms REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gc_rls_teacher_students_terms();

-- Existing enrolments (the migration runs in no scope: the function declares its own).
SELECT gc_rls_teacher_students_sync(ARRAY(SELECT id FROM courses));
ANALYZE rls_teacher_students;
"""

DROP_TABLE = """
DROP TRIGGER IF EXISTS rls_teacher_students_upd ON terms;
DROP TRIGGER IF EXISTS rls_teacher_students_del ON courses;
DROP TRIGGER IF EXISTS rls_teacher_students_upd ON courses;
DROP TRIGGER IF EXISTS rls_teacher_students_trunc ON enrollments;
DROP TRIGGER IF EXISTS rls_teacher_students_del ON enrollments;
DROP TRIGGER IF EXISTS rls_teacher_students_upd ON enrollments;
DROP TRIGGER IF EXISTS rls_teacher_students_ins ON enrollments;
DROP FUNCTION IF EXISTS gc_rls_teacher_students_truncated();
DROP FUNCTION IF EXISTS gc_rls_teacher_students_terms();
DROP FUNCTION IF EXISTS gc_rls_teacher_students_courses();
DROP FUNCTION IF EXISTS gc_rls_teacher_students_enrollments();
DROP FUNCTION IF EXISTS gc_rls_teacher_students_sync(bigint[]);
DROP TABLE IF EXISTS rls_teacher_students;
"""

# The set functions, in PL/pgSQL (plans kept per session); the students' set now reads the table.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION gc_rls_teacher_course_ids() RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY SELECT id FROM courses WHERE teacher_id = gc_rls_teacher_id();
END $$;
CREATE OR REPLACE FUNCTION gc_rls_teacher_student_ids() RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY SELECT DISTINCT r.student_id::bigint FROM rls_teacher_students r
   WHERE r.teacher_id = gc_rls_teacher_id() AND r.term_starts_on <= current_date;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ('courses', '0007_cache_trigger_cost'),
        ('rls', '0002_scope_functions_plpgsql'),
    ]

    operations = [
        migrations.RunSQL(sql=TABLE, reverse_sql=PREVIOUS.FUNCTIONS + DROP_TABLE),
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=apply_sql(tables=PREVIOUS.TABLES, policies=PREVIOUS.POLICIES),
        ),
    ]

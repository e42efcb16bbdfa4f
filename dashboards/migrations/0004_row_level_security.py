"""The materialized views behind security-barrier views that the row-level-security scope filters.

A materialized view stores rows without policies. Each one is renamed to
``<name>_rows`` (owner only: the application role gets no privilege on it) and
a ``security_barrier`` view under its old name shows the scope's rows only:
every row to administrators, office staff and system maintenance, to a teacher
the rows of the students they may see (``gc_rls_teacher_student_ids``, courses
0005), and none of the school-wide weekly summary. Every reader -- the ORM
model, the selectors' SQL, the admin -- keeps its name and goes through the filter.

Refreshing needs the owner: ``gc_refresh_materialized_view`` is SECURITY
DEFINER, refreshes only these three, and only in a sees-all scope.
"""

from django.db import migrations

FORWARD = """
ALTER MATERIALIZED VIEW student_metrics_mv RENAME TO student_metrics_mv_rows;
ALTER MATERIALIZED VIEW attendance_weekly_mv RENAME TO attendance_weekly_mv_rows;
ALTER MATERIALIZED VIEW feedback_trend_mv RENAME TO feedback_trend_mv_rows;
CREATE VIEW student_metrics_mv WITH (security_barrier) AS
  SELECT * FROM student_metrics_mv_rows
   WHERE (SELECT gc_rls_sees_all()) OR id IN (SELECT gc_rls_teacher_student_ids());
CREATE VIEW attendance_weekly_mv WITH (security_barrier) AS
  SELECT * FROM attendance_weekly_mv_rows WHERE (SELECT gc_rls_sees_all());
CREATE VIEW feedback_trend_mv WITH (security_barrier) AS
  SELECT * FROM feedback_trend_mv_rows
   WHERE (SELECT gc_rls_sees_all()) OR id IN (SELECT gc_rls_teacher_student_ids());
GRANT SELECT ON student_metrics_mv, attendance_weekly_mv, feedback_trend_mv TO growthcompass_app;

CREATE OR REPLACE FUNCTION gc_refresh_materialized_view(view_name text, concurrent boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT gc_rls_sees_all() THEN
    RAISE EXCEPTION 'refreshing % needs a staff or system scope', view_name USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF view_name NOT IN ('student_metrics_mv_rows', 'attendance_weekly_mv_rows', 'feedback_trend_mv_rows') THEN
    RAISE EXCEPTION 'not a refreshable materialized view: %', view_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF concurrent THEN
    EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I', view_name);
  ELSE
    EXECUTE format('REFRESH MATERIALIZED VIEW %I', view_name);
  END IF;
END
$$;
REVOKE ALL ON FUNCTION gc_refresh_materialized_view(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gc_refresh_materialized_view(text, boolean) TO growthcompass_app;
"""

REVERSE = """
DROP FUNCTION IF EXISTS gc_refresh_materialized_view(text, boolean);
DROP VIEW IF EXISTS feedback_trend_mv;
DROP VIEW IF EXISTS attendance_weekly_mv;
DROP VIEW IF EXISTS student_metrics_mv;
ALTER MATERIALIZED VIEW feedback_trend_mv_rows RENAME TO feedback_trend_mv;
ALTER MATERIALIZED VIEW attendance_weekly_mv_rows RENAME TO attendance_weekly_mv;
ALTER MATERIALIZED VIEW student_metrics_mv_rows RENAME TO student_metrics_mv;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0003_table_generation_triggers"),
        ("courses", "0005_row_level_security"),
        # After attendances became partitioned: its migration recreates the views this one renames.
        ("attendance", "0007_attendances_partitioned"),
    ]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=REVERSE)]

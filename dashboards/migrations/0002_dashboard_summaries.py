# The staff dashboard's two small summaries, materialized beside student_metrics_mv and
# refreshed with it (dashboards.refresh.MATERIALIZED_VIEWS), so no page ever aggregates
# over all attendance or all feedback:
#
# * attendance_weekly_mv -- attendance counts per term, ISO week and student grade
#   (about terms x 15 weeks x 13 grades rows), for the school's weekly line chart.
# * feedback_trend_mv -- per student, the mean score of their three latest feedback
#   entries against the mean of all earlier ones, for "falling feedback scores".
#
# Both count what student_metrics_mv counts: records on held sessions dated up to today.

from django.db import migrations

CREATE_WEEKLY = """
CREATE MATERIALIZED VIEW IF NOT EXISTS attendance_weekly_mv AS
SELECT c.term_id,
       date_trunc('week', cs.session_date)::date AS week_start,
       st.grade_level,
       count(*) FILTER (WHERE a.status = 'present')::integer AS present_count,
       count(*) FILTER (WHERE a.status = 'late')::integer AS late_count,
       count(*) FILTER (WHERE a.status = 'absent')::integer AS absent_count,
       count(*) FILTER (WHERE a.status = 'excused')::integer AS excused_count
  FROM attendances a
  JOIN class_sessions cs ON cs.id = a.session_id
  JOIN courses c ON c.id = cs.course_id
  JOIN students st ON st.id = a.student_id
 WHERE NOT cs.is_cancelled AND cs.session_date <= current_date
 GROUP BY c.term_id, date_trunc('week', cs.session_date), st.grade_level
WITH DATA;
-- REFRESH ... CONCURRENTLY needs a unique index; it also serves "one term, by week".
CREATE UNIQUE INDEX IF NOT EXISTS attendance_weekly_mv_key ON attendance_weekly_mv (term_id, week_start, grade_level);
"""

CREATE_TREND = """
CREATE MATERIALIZED VIEW IF NOT EXISTS feedback_trend_mv AS
WITH entry AS (
    SELECT f.student_id,
           f.parsed_at,
           (SELECT avg(v.value::numeric) FROM jsonb_each_text(f.scores) AS v) AS score,
           row_number() OVER (PARTITION BY f.student_id ORDER BY f.parsed_at DESC, f.id DESC) AS recency
      FROM parsed_student_feedback f
), per_student AS (
    SELECT student_id,
           avg(score) FILTER (WHERE recency <= 3) AS recent_avg,
           count(score) FILTER (WHERE recency <= 3) AS recent_count,
           avg(score) FILTER (WHERE recency > 3) AS earlier_avg,
           count(score) FILTER (WHERE recency > 3) AS earlier_count,
           max(parsed_at) AS last_feedback_at
      FROM entry
     GROUP BY student_id
)
SELECT p.student_id AS id,
       s.grade_level,
       round(p.recent_avg, 2)::numeric(3, 2) AS recent_avg,
       p.recent_count::integer AS recent_count,
       round(p.earlier_avg, 2)::numeric(3, 2) AS earlier_avg,
       p.earlier_count::integer AS earlier_count,
       round(p.recent_avg - p.earlier_avg, 2)::numeric(4, 2) AS score_change,
       p.last_feedback_at
  FROM per_student p
  JOIN students s ON s.id = p.student_id
 WHERE p.recent_avg IS NOT NULL AND p.earlier_avg IS NOT NULL
WITH DATA;
CREATE UNIQUE INDEX IF NOT EXISTS feedback_trend_mv_id_uniq ON feedback_trend_mv (id);
-- "Falling the most first", across the school or within a grade: index scans with a LIMIT.
CREATE INDEX IF NOT EXISTS feedback_trend_mv_change ON feedback_trend_mv (score_change, id);
CREATE INDEX IF NOT EXISTS feedback_trend_mv_grade_change ON feedback_trend_mv (grade_level, score_change, id);
"""

DROP_WEEKLY = "DROP MATERIALIZED VIEW IF EXISTS attendance_weekly_mv;"
DROP_TREND = "DROP MATERIALIZED VIEW IF EXISTS feedback_trend_mv;"

# Populated as they are created: record that, so their age is known from the start.
RECORD_CREATION = """
INSERT INTO view_refreshes (view_name, started_at, finished_at, duration_ms, row_count, concurrent, source, succeeded, error)
SELECT 'attendance_weekly_mv', now(), clock_timestamp(), 0, count(*), false, 'migration', true, ''
  FROM attendance_weekly_mv;
INSERT INTO view_refreshes (view_name, started_at, finished_at, duration_ms, row_count, concurrent, source, succeeded, error)
SELECT 'feedback_trend_mv', now(), clock_timestamp(), 0, count(*), false, 'migration', true, ''
  FROM feedback_trend_mv;
"""
FORGET_REFRESHES = "DELETE FROM view_refreshes WHERE view_name IN ('attendance_weekly_mv', 'feedback_trend_mv');"


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_initial"),
        ("attendance", "0001_initial"),
        ("courses", "0001_initial"),
        ("feedback", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="viewrefresh",
            options={
                "ordering": ["-finished_at"],
                "permissions": [
                    ("refresh_views", "Can refresh the dashboard's views"),
                    ("view_operations", "Can view the operations dashboard"),
                ],
            },
        ),
        migrations.RunSQL(sql=CREATE_WEEKLY, reverse_sql=DROP_WEEKLY),
        migrations.RunSQL(sql=CREATE_TREND, reverse_sql=DROP_TREND),
        migrations.RunSQL(sql=RECORD_CREATION, reverse_sql=FORGET_REFRESHES),
    ]

# Hand-written: the database side of cache invalidation.
#
# Statement-level AFTER triggers (with transition tables, so a bulk write costs
# one trigger call, not one per row) send ``pg_notify('gc_cache', 'family:ids')``
# naming the cache entries a write changed. PostgreSQL delivers a NOTIFY only
# when its transaction commits, so a rolled-back write never invalidates
# anything, and every write path -- ORM save, bulk_create, bulk_update,
# queryset.update()/delete(), raw SQL, psql -- is seen. ``manage.py
# cache_listener`` (or the in-process listener) LISTENs and deletes the keys.
#
# Payload: ``<family>:<id>,<id>,...`` or ``<family>:*`` (the whole family) when
# the id list would not fit in a NOTIFY payload (8000 bytes) or on TRUNCATE.
# The family names are the cache's key families (growthcompass/cache/families.py).
#
# Frozen once applied: a change is a new migration.

from django.conf import settings
from django.db import migrations

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION gc_cache_notify(family text, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    payload := family || ':' || array_to_string(ids, ',');
    -- A NOTIFY payload must stay under 8000 bytes: past about a thousand ids the
    -- whole family is invalidated instead (one SCAN on the listener's side).
    IF octet_length(payload) > 7000 THEN
        payload := family || ':*';
    END IF;
    PERFORM pg_notify('gc_cache', payload);
END;
$$;

CREATE OR REPLACE FUNCTION gc_cache_notify_all(family text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gc_cache', family || ':*');
END;
$$;

-- students -> "student" entries (the student by id).
CREATE OR REPLACE FUNCTION gc_cache_students_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM gc_cache_notify('student', ARRAY(SELECT DISTINCT id::bigint FROM gc_new));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM gc_cache_notify('student', ARRAY(SELECT id::bigint FROM gc_new UNION SELECT id::bigint FROM gc_old));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM gc_cache_notify('student', ARRAY(SELECT DISTINCT id::bigint FROM gc_old));
    ELSE
        PERFORM gc_cache_notify_all('student');
    END IF;
    RETURN NULL;
END;
$$;

-- auth_user -> "student" (names are part of a student entry) and "course"
-- (the teacher's name is part of a course entry). Only the columns the entries
-- show count: every login rewrites last_login and must stay free.
CREATE OR REPLACE FUNCTION gc_cache_auth_user_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        changed := ARRAY(
            SELECT n.id::bigint
              FROM gc_new n
              JOIN gc_old o ON o.id = n.id
             WHERE (n.username, n.first_name, n.last_name, n.email)
                   IS DISTINCT FROM (o.username, o.first_name, o.last_name, o.email)
        );
    ELSIF TG_OP = 'DELETE' THEN
        changed := ARRAY(SELECT DISTINCT id::bigint FROM gc_old);
    ELSE
        PERFORM gc_cache_notify_all('student');
        PERFORM gc_cache_notify_all('course');
        RETURN NULL;
    END IF;
    IF cardinality(changed) > 0 THEN
        PERFORM gc_cache_notify('student', changed);
        PERFORM gc_cache_notify('course', ARRAY(SELECT id::bigint FROM courses WHERE teacher_id = ANY (changed)));
    END IF;
    RETURN NULL;
END;
$$;

-- guardians -> "student_guardians" of the old and the new student.
CREATE OR REPLACE FUNCTION gc_cache_guardians_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM gc_cache_notify('student_guardians', ARRAY(SELECT DISTINCT student_id::bigint FROM gc_new));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM gc_cache_notify('student_guardians',
            ARRAY(SELECT student_id::bigint FROM gc_new UNION SELECT student_id::bigint FROM gc_old));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM gc_cache_notify('student_guardians', ARRAY(SELECT DISTINCT student_id::bigint FROM gc_old));
    ELSE
        PERFORM gc_cache_notify_all('student_guardians');
    END IF;
    RETURN NULL;
END;
$$;

-- enrollments -> "student_enrollments" of the students and "course_roster" of
-- the courses, old and new values both (a moved enrolment changes two of each).
CREATE OR REPLACE FUNCTION gc_cache_enrollments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM gc_cache_notify('student_enrollments', ARRAY(SELECT DISTINCT student_id::bigint FROM gc_new));
        PERFORM gc_cache_notify('course_roster', ARRAY(SELECT DISTINCT course_id::bigint FROM gc_new));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM gc_cache_notify('student_enrollments',
            ARRAY(SELECT student_id::bigint FROM gc_new UNION SELECT student_id::bigint FROM gc_old));
        PERFORM gc_cache_notify('course_roster',
            ARRAY(SELECT course_id::bigint FROM gc_new UNION SELECT course_id::bigint FROM gc_old));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM gc_cache_notify('student_enrollments', ARRAY(SELECT DISTINCT student_id::bigint FROM gc_old));
        PERFORM gc_cache_notify('course_roster', ARRAY(SELECT DISTINCT course_id::bigint FROM gc_old));
    ELSE
        PERFORM gc_cache_notify_all('student_enrollments');
        PERFORM gc_cache_notify_all('course_roster');
    END IF;
    RETURN NULL;
END;
$$;

-- courses -> "course" entries, and the one "courses_active" entry (a list of
-- ids) when the set of active courses may have changed.
CREATE OR REPLACE FUNCTION gc_cache_courses_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM gc_cache_notify('course', ARRAY(SELECT DISTINCT id::bigint FROM gc_new));
        IF EXISTS (SELECT 1 FROM gc_new WHERE is_active) THEN
            PERFORM gc_cache_notify('courses_active', ARRAY[0::bigint]);
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM gc_cache_notify('course', ARRAY(SELECT id::bigint FROM gc_new UNION SELECT id::bigint FROM gc_old));
        IF EXISTS (SELECT 1 FROM gc_new n FULL JOIN gc_old o ON o.id = n.id
                    WHERE n.is_active IS DISTINCT FROM o.is_active) THEN
            PERFORM gc_cache_notify('courses_active', ARRAY[0::bigint]);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM gc_cache_notify('course', ARRAY(SELECT DISTINCT id::bigint FROM gc_old));
        IF EXISTS (SELECT 1 FROM gc_old WHERE is_active) THEN
            PERFORM gc_cache_notify('courses_active', ARRAY[0::bigint]);
        END IF;
    ELSE
        PERFORM gc_cache_notify_all('course');
        PERFORM gc_cache_notify_all('courses_active');
    END IF;
    RETURN NULL;
END;
$$;

-- terms -> "course" entries of the courses in a renamed term (the term's name
-- is part of a course entry). A new term has no courses yet.
CREATE OR REPLACE FUNCTION gc_cache_terms_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM gc_cache_notify('course', ARRAY(
            SELECT c.id::bigint
              FROM courses c
             WHERE c.term_id IN (SELECT n.id FROM gc_new n JOIN gc_old o ON o.id = n.id
                                  WHERE n.name IS DISTINCT FROM o.name)
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM gc_cache_notify('course', ARRAY(SELECT c.id::bigint FROM courses c WHERE c.term_id IN (SELECT id FROM gc_old)));
    ELSE
        PERFORM gc_cache_notify_all('course');
    END IF;
    RETURN NULL;
END;
$$;

-- view_refreshes -> every "student_metrics" entry: the materialized view only
-- changes on a refresh, and each refresh is recorded in this log.
CREATE OR REPLACE FUNCTION gc_cache_view_refreshed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM gc_new WHERE view_name = 'student_metrics_mv' AND succeeded) THEN
        PERFORM gc_cache_notify_all('student_metrics');
    END IF;
    RETURN NULL;
END;
$$;
"""

TRIGGERS = r"""
CREATE TRIGGER gc_cache_students_ins AFTER INSERT ON students
    REFERENCING NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_students_changed();
CREATE TRIGGER gc_cache_students_upd AFTER UPDATE ON students
    REFERENCING OLD TABLE AS gc_old NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_students_changed();
CREATE TRIGGER gc_cache_students_del AFTER DELETE ON students
    REFERENCING OLD TABLE AS gc_old FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_students_changed();
CREATE TRIGGER gc_cache_students_trunc AFTER TRUNCATE ON students
    FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_students_changed();

CREATE TRIGGER gc_cache_auth_user_upd AFTER UPDATE ON auth_user
    REFERENCING OLD TABLE AS gc_old NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_auth_user_changed();
CREATE TRIGGER gc_cache_auth_user_del AFTER DELETE ON auth_user
    REFERENCING OLD TABLE AS gc_old FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_auth_user_changed();
CREATE TRIGGER gc_cache_auth_user_trunc AFTER TRUNCATE ON auth_user
    FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_auth_user_changed();

CREATE TRIGGER gc_cache_guardians_ins AFTER INSERT ON guardians
    REFERENCING NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_guardians_changed();
CREATE TRIGGER gc_cache_guardians_upd AFTER UPDATE ON guardians
    REFERENCING OLD TABLE AS gc_old NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_guardians_changed();
CREATE TRIGGER gc_cache_guardians_del AFTER DELETE ON guardians
    REFERENCING OLD TABLE AS gc_old FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_guardians_changed();
CREATE TRIGGER gc_cache_guardians_trunc AFTER TRUNCATE ON guardians
    FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_guardians_changed();

CREATE TRIGGER gc_cache_enrollments_ins AFTER INSERT ON enrollments
    REFERENCING NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_enrollments_changed();
CREATE TRIGGER gc_cache_enrollments_upd AFTER UPDATE ON enrollments
    REFERENCING OLD TABLE AS gc_old NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_enrollments_changed();
CREATE TRIGGER gc_cache_enrollments_del AFTER DELETE ON enrollments
    REFERENCING OLD TABLE AS gc_old FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_enrollments_changed();
CREATE TRIGGER gc_cache_enrollments_trunc AFTER TRUNCATE ON enrollments
    FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_enrollments_changed();

CREATE TRIGGER gc_cache_courses_ins AFTER INSERT ON courses
    REFERENCING NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_courses_changed();
CREATE TRIGGER gc_cache_courses_upd AFTER UPDATE ON courses
    REFERENCING OLD TABLE AS gc_old NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_courses_changed();
CREATE TRIGGER gc_cache_courses_del AFTER DELETE ON courses
    REFERENCING OLD TABLE AS gc_old FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_courses_changed();
CREATE TRIGGER gc_cache_courses_trunc AFTER TRUNCATE ON courses
    FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_courses_changed();

CREATE TRIGGER gc_cache_terms_upd AFTER UPDATE ON terms
    REFERENCING OLD TABLE AS gc_old NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_terms_changed();
CREATE TRIGGER gc_cache_terms_del AFTER DELETE ON terms
    REFERENCING OLD TABLE AS gc_old FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_terms_changed();
CREATE TRIGGER gc_cache_terms_trunc AFTER TRUNCATE ON terms
    FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_terms_changed();

CREATE TRIGGER gc_cache_view_refreshes_ins AFTER INSERT ON view_refreshes
    REFERENCING NEW TABLE AS gc_new FOR EACH STATEMENT EXECUTE FUNCTION gc_cache_view_refreshed();
"""

DROP_TRIGGERS = r"""
DROP TRIGGER IF EXISTS gc_cache_view_refreshes_ins ON view_refreshes;
DROP TRIGGER IF EXISTS gc_cache_terms_trunc ON terms;
DROP TRIGGER IF EXISTS gc_cache_terms_del ON terms;
DROP TRIGGER IF EXISTS gc_cache_terms_upd ON terms;
DROP TRIGGER IF EXISTS gc_cache_courses_trunc ON courses;
DROP TRIGGER IF EXISTS gc_cache_courses_del ON courses;
DROP TRIGGER IF EXISTS gc_cache_courses_upd ON courses;
DROP TRIGGER IF EXISTS gc_cache_courses_ins ON courses;
DROP TRIGGER IF EXISTS gc_cache_enrollments_trunc ON enrollments;
DROP TRIGGER IF EXISTS gc_cache_enrollments_del ON enrollments;
DROP TRIGGER IF EXISTS gc_cache_enrollments_upd ON enrollments;
DROP TRIGGER IF EXISTS gc_cache_enrollments_ins ON enrollments;
DROP TRIGGER IF EXISTS gc_cache_guardians_trunc ON guardians;
DROP TRIGGER IF EXISTS gc_cache_guardians_del ON guardians;
DROP TRIGGER IF EXISTS gc_cache_guardians_upd ON guardians;
DROP TRIGGER IF EXISTS gc_cache_guardians_ins ON guardians;
DROP TRIGGER IF EXISTS gc_cache_auth_user_trunc ON auth_user;
DROP TRIGGER IF EXISTS gc_cache_auth_user_del ON auth_user;
DROP TRIGGER IF EXISTS gc_cache_auth_user_upd ON auth_user;
DROP TRIGGER IF EXISTS gc_cache_students_trunc ON students;
DROP TRIGGER IF EXISTS gc_cache_students_del ON students;
DROP TRIGGER IF EXISTS gc_cache_students_upd ON students;
DROP TRIGGER IF EXISTS gc_cache_students_ins ON students;
"""

DROP_FUNCTIONS = r"""
DROP FUNCTION IF EXISTS gc_cache_view_refreshed();
DROP FUNCTION IF EXISTS gc_cache_terms_changed();
DROP FUNCTION IF EXISTS gc_cache_courses_changed();
DROP FUNCTION IF EXISTS gc_cache_enrollments_changed();
DROP FUNCTION IF EXISTS gc_cache_guardians_changed();
DROP FUNCTION IF EXISTS gc_cache_auth_user_changed();
DROP FUNCTION IF EXISTS gc_cache_students_changed();
DROP FUNCTION IF EXISTS gc_cache_notify_all(text);
DROP FUNCTION IF EXISTS gc_cache_notify(text, bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("students", "0002_student_metrics"),
        ("courses", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
        migrations.RunSQL(sql=TRIGGERS, reverse_sql=DROP_TRIGGERS),
    ]

"""The application role and the functions every policy reads its scope through.

The scope arrives in two transaction-local settings (growthcompass.rls.context);
these functions are the only place the policies read them, so a policy says
``(SELECT gc_rls_sees_all())`` -- wrapped in a sub-select so the planner
evaluates it once per statement (an InitPlan), not once per row.

The role is cluster-wide and shared by every database of the server, so
reversing this migration leaves it in place.
"""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION gc_rls_kind() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT nullif(current_setting('growthcompass.rls_kind', true), '')
$$;
CREATE OR REPLACE FUNCTION gc_rls_user_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT nullif(current_setting('growthcompass.rls_user', true), '')::bigint
$$;
-- Administrators, office staff and system maintenance: every domain row.
CREATE OR REPLACE FUNCTION gc_rls_sees_all() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(nullif(current_setting('growthcompass.rls_kind', true), '') IN ('system', 'admin', 'office'), false)
$$;
-- Administrators and system maintenance: the audit log too.
CREATE OR REPLACE FUNCTION gc_rls_is_admin() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(nullif(current_setting('growthcompass.rls_kind', true), '') IN ('system', 'admin'), false)
$$;
-- The acting teacher's user id; NULL for any other scope.
CREATE OR REPLACE FUNCTION gc_rls_teacher_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN current_setting('growthcompass.rls_kind', true) = 'teacher'
              THEN nullif(current_setting('growthcompass.rls_user', true), '')::bigint END
$$;
-- TRUNCATE is not subject to row-level security, so the application role is never granted it;
-- maintenance (seed_demo --reset) empties tables through this function, in a system or
-- administrator scope only.
CREATE OR REPLACE FUNCTION gc_system_truncate(tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT gc_rls_is_admin() THEN
    RAISE EXCEPTION 'gc_system_truncate needs a system or administrator scope (rls_system_context)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  EXECUTE 'TRUNCATE ' || (SELECT string_agg(quote_ident(t), ', ') FROM unnest(tables) AS t);
END
$$;
REVOKE ALL ON FUNCTION gc_system_truncate(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gc_system_truncate(text[]) TO growthcompass_app;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS gc_system_truncate(text[]);
DROP FUNCTION IF EXISTS gc_rls_teacher_id();
DROP FUNCTION IF EXISTS gc_rls_is_admin();
DROP FUNCTION IF EXISTS gc_rls_sees_all();
DROP FUNCTION IF EXISTS gc_rls_user_id();
DROP FUNCTION IF EXISTS gc_rls_kind();
"""

ROLE = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'growthcompass_app') THEN
    CREATE ROLE growthcompass_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
"""


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.RunSQL(sql=ROLE, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
    ]

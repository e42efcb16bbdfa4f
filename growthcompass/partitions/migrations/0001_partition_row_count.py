"""``partition_row_count(partition)``: how many rows a partition holds, for the ``partitions`` health check.

The application role has no privilege on partitions (only on their parents,
whose row-level security policies then apply), so it cannot count a DEFAULT
partition's rows directly. This function runs as its owner (SECURITY DEFINER,
a fixed search_path) and answers only for a relation that is a partition, and
only a number: nothing of the rows themselves.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION partition_row_count(partition regclass) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    found bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class WHERE oid = partition AND relispartition) THEN
        RAISE EXCEPTION 'partition_row_count: % is not a partition', partition;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', partition) INTO found;
    RETURN found;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS partition_row_count(regclass);"


class Migration(migrations.Migration):
    dependencies: list[tuple[str, str]] = []

    operations = [migrations.RunSQL(sql=CREATE, reverse_sql=DROP)]

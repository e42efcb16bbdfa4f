# Hand-written: the hand-listed NOTIFY triggers of 0001 give way to the ones
# generated from each app's cache.py declarations, which those apps' own
# migrations install (students 0004, courses 0002, dashboards 0001). Those run
# first (the dependencies below), so no committed write goes unannounced while
# the upgrade runs; in between, a write is announced twice, which is harmless.
# gc_cache_notify() and gc_cache_notify_all() stay: the generated triggers call them.

import importlib

from django.db import migrations

_initial = importlib.import_module("growthcompass.cache.migrations.0001_invalidation_triggers")

DROP_PER_TABLE_FUNCTIONS = r"""
DROP FUNCTION IF EXISTS gc_cache_view_refreshed();
DROP FUNCTION IF EXISTS gc_cache_terms_changed();
DROP FUNCTION IF EXISTS gc_cache_courses_changed();
DROP FUNCTION IF EXISTS gc_cache_enrollments_changed();
DROP FUNCTION IF EXISTS gc_cache_guardians_changed();
DROP FUNCTION IF EXISTS gc_cache_auth_user_changed();
DROP FUNCTION IF EXISTS gc_cache_students_changed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("gc_cache", "0001_invalidation_triggers"),
        ("students", "0004_triggers"),
        ("courses", "0002_triggers"),
        ("dashboards", "0001_initial"),
    ]

    operations = [
        # Reversed (last operation first), 0001's functions come back (CREATE OR REPLACE), then its triggers.
        migrations.RunSQL(sql=_initial.DROP_TRIGGERS, reverse_sql=_initial.TRIGGERS),
        migrations.RunSQL(sql=DROP_PER_TABLE_FUNCTIONS, reverse_sql=_initial.FUNCTIONS),
    ]

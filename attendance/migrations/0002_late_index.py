"""A partial index for the late-arrivals list: only ``status = 'late'`` rows carry an entry.

Built ``CONCURRENTLY`` (so the migration is not atomic): attendances is the
largest table, and a plain CREATE INDEX would block its writes while it builds.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("attendance", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="attendance",
            index=models.Index(
                condition=models.Q(("status", "late")), fields=["-minutes_late"], name="idx_attendances_late"
            ),
        ),
    ]

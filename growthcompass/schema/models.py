"""The checksum of each applied project migration, recorded when it was applied."""

from __future__ import annotations

from django.db import models


class MigrationChecksum(models.Model):
    """SHA-256 of a migration file's normalised content at the time it was applied.

    Unmanaged on purpose: the table is created by raw SQL in this app's first
    migration, so ``flush`` (and pytest-django's transactional teardown) leaves
    it alone exactly as it leaves ``django_migrations`` alone. Truncating it
    would silently re-baseline every checksum on the next ``migrate``, hiding
    an edit made to an applied migration.
    """

    app = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "schema_migration_checksums"
        ordering = ["app", "name"]
        verbose_name = "migration checksum"

    def __str__(self) -> str:
        return f"{self.app}.{self.name} {self.checksum[:12]}"

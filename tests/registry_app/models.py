from __future__ import annotations

from django.db import models


class Widget(models.Model):
    """One row of a table no project module knows."""

    name = models.CharField(max_length=50)
    secret = models.CharField(max_length=50, blank=True)

    # Spelt out: the type checker runs with the project's settings, where this app is not installed.
    objects: models.Manager[Widget] = models.Manager()

    class Meta:
        db_table = "registry_widgets"

    def __str__(self) -> str:
        return self.name

from __future__ import annotations

from django.db import models


class CapturedPlan(models.Model):
    """The plan of one slow statement (by alias and fingerprint), as last captured."""

    alias = models.CharField(max_length=63)
    fingerprint = models.CharField(max_length=32)
    statement = models.TextField(help_text="The normalised statement (values replaced by ?).")
    template = models.TextField(help_text="The statement as sent, with its placeholders; never parameter values.")
    slowest_ms = models.FloatField(help_text="The slowest execution that led to a capture.")
    explained = models.BooleanField(default=False)
    note = models.TextField(blank=True, help_text="Why the statement was not explained, when it was not.")
    plan = models.JSONField(null=True, blank=True)
    top_node = models.CharField(max_length=64, blank=True)
    total_cost = models.FloatField(null=True, blank=True)
    findings = models.JSONField(default=list, blank=True, help_text="Sequential scans of large tables, etc.")
    captured_at = models.DateTimeField()

    class Meta:
        db_table = "captured_plans"
        ordering = ["-captured_at"]
        constraints = [models.UniqueConstraint(fields=["alias", "fingerprint"], name="captured_plans_statement_uniq")]
        verbose_name = "captured plan"

    def __str__(self) -> str:
        return f"{self.fingerprint} on {self.alias} ({self.slowest_ms:.0f} ms)"

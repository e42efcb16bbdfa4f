"""Teacher feedback about a student, parsed into scores, sentiment and tags."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone

from attendance.models import ClassSession
from feedback.scores import validate_scores
from students.models import Student


class ParsedStudentFeedback(models.Model):
    # The explicit indexes below cover student_id; the FK's own would duplicate them.
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="feedback", db_index=False)
    session = models.ForeignKey(
        ClassSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback_written",
    )
    raw_text = models.TextField()
    parsed_at = models.DateTimeField(default=timezone.now)
    scores = models.JSONField(default=dict, validators=[validate_scores])
    sentiment = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    class Meta:
        db_table = "parsed_student_feedback"
        verbose_name = "parsed student feedback"
        verbose_name_plural = "parsed student feedback"
        ordering = ["-parsed_at"]
        indexes = [
            models.Index(fields=["student"], name="idx_parsed_feedback_student_id"),
            models.Index(fields=["student", "-parsed_at"], name="idx_feedback_student_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | Q(sentiment__gte=-1, sentiment__lte=1),
                name="feedback_sentiment_range",
            ),
            models.CheckConstraint(
                condition=Func(
                    F("scores"), function="feedback_scores_are_valid", output_field=models.BooleanField()
                ),
                name="feedback_scores_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback on {self.student_id} at {self.parsed_at:%Y-%m-%d}"

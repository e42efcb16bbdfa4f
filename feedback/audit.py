"""The feedback app's audited models: every write to this table is logged in ``audit_log`` by triggers."""

from __future__ import annotations

from feedback.models import ParsedStudentFeedback

AUDITED_MODELS = (ParsedStudentFeedback,)

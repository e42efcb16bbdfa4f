"""The courses app's audited models: every write to these tables is logged in ``audit_log`` by triggers."""

from __future__ import annotations

from courses.models import Course, Enrollment, Term

AUDITED_MODELS = (Term, Course, Enrollment)

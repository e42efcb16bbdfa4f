"""The students app's audited models: every write to these tables is logged in ``audit_log`` by triggers."""

from __future__ import annotations

from students.models import Guardian, Student

AUDITED_MODELS = (Student, Guardian)

"""The attendance app's audited models: every write to these tables is logged in ``audit_log`` by triggers."""

from __future__ import annotations

from attendance.models import Attendance, ClassSession

AUDITED_MODELS = (ClassSession, Attendance)

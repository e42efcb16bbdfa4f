from __future__ import annotations

from django.apps import AppConfig


class AuditingConfig(AppConfig):
    name = "auditing"

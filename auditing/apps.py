from __future__ import annotations

from django.apps import AppConfig


class AuditingConfig(AppConfig):
    """The audit log: PostgreSQL triggers write it, this app reads it and names the acting user."""

    name = "auditing"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        from auditing import checks  # noqa: F401 - registers the system checks
        from auditing.context import AUDIT_STATEMENT_SETTING, install_audit_wrapper
        from growthcompass.db.statement_settings import register_statement_setting
        from auditing.registry import discover_audited_models

        discover_audited_models()
        register_statement_setting(AUDIT_STATEMENT_SETTING)

        connection_created.connect(install_audit_wrapper, dispatch_uid="growthcompass.statement_settings")
        # Connections opened before this app was ready (none, normally) get it too.
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                install_audit_wrapper(connection=connection)

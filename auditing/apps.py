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
        from auditing.registry import discover_audited_models
        from growthcompass.db.statement_settings import register_statement_setting

        discover_audited_models()
        _take_part_in_row_level_security()
        register_statement_setting(AUDIT_STATEMENT_SETTING)

        connection_created.connect(install_audit_wrapper, dispatch_uid="growthcompass.statement_settings")
        # Connections opened before this app was ready (none, normally) get it too.
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                install_audit_wrapper(connection=connection)


def _take_part_in_row_level_security() -> None:
    """Every audited domain table must be under row-level security; a system scope is recorded in the audit context."""
    from django.contrib.auth import get_user_model

    from auditing.context import audit_system_scope
    from auditing.registry import audited_tables
    from growthcompass.rls.checks import register_required_tables
    from growthcompass.rls.context import register_system_hook

    user_table = get_user_model()._meta.db_table

    def audited_domain_tables() -> list[str]:
        return sorted(table for table in audited_tables() if table != user_table)

    register_required_tables(audited_domain_tables)
    register_system_hook(audit_system_scope)

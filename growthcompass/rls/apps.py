from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class RlsConfig(AppConfig):
    """Row-level security: the scope bound to every statement, the policies each app declares, their checks."""

    name = "growthcompass.rls"
    label = "rls"
    verbose_name = "Row-level security"

    def ready(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from growthcompass.db.statement_settings import (
            install_statement_settings_wrapper,
            register_statement_setting,
        )
        from growthcompass.rls import health  # noqa: F401 - registers the health check
        from growthcompass.rls.context import KIND_STATEMENT_SETTING, USER_STATEMENT_SETTING
        from growthcompass.rls.discovery import discover_policies
        from growthcompass.rls.grants import grant_application_privileges

        discover_policies()
        register_statement_setting(KIND_STATEMENT_SETTING)
        register_statement_setting(USER_STATEMENT_SETTING)
        # The same receiver id as the auditing app's: whichever connects first installs the one wrapper.
        connection_created.connect(install_statement_settings_wrapper, dispatch_uid="growthcompass.statement_settings")
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                install_statement_settings_wrapper(connection=connection)

        def _grant(sender: Any, using: str = "default", **kwargs: Any) -> None:
            grant_application_privileges(using=using)

        post_migrate.connect(_grant, dispatch_uid="growthcompass.rls.grants", weak=False)
        _answer_404_for_hidden_rows()


def _answer_404_for_hidden_rows() -> None:
    """The admin answers 404 for a row the scope hides, as for one that does not exist.

    Django's admin redirects to its index with "<model> with ID ... doesn't
    exist" for an object its queryset does not return; row-level security makes
    another teacher's student such an object. A 404 names nothing and tells a
    hidden row from a missing one no better than the redirect did.
    """
    from django.contrib.admin.options import ModelAdmin
    from django.http import Http404

    def not_found(self: ModelAdmin[Any], request: Any, opts: Any, object_id: str) -> Any:
        raise Http404(f"No {opts.verbose_name} with this id.")

    ModelAdmin._get_obj_does_not_exist_redirect = not_found  # type: ignore[attr-defined]

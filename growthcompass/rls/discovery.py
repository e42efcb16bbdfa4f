"""Find each installed app's ``rls.py`` (like ``admin.py``) and record its declaration."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps

from growthcompass.rls.policies import register_module


def discover_policies() -> None:
    for app_config in apps.get_app_configs():
        name = f"{app_config.name}.rls"
        if app_config.name == "growthcompass.rls" or find_spec(name) is None:
            continue
        module = import_module(name)
        # ``growthcompass.rls`` itself is found as the ``growthcompass`` app's "rls.py".
        if hasattr(module, "RLS_TABLES") or hasattr(module, "POLICIES"):
            register_module(app_config.label, module)

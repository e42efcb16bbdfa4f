from __future__ import annotations

from django.apps import AppConfig


class RegistryAppConfig(AppConfig):
    name = "tests.registry_app"
    label = "registry_app"

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

# No database access is allowed in these tests: a refusal must come before anything is touched.


def test_reset_is_refused_in_production_even_with_force() -> None:
    with override_settings(DJANGO_ENV="production"), pytest.raises(CommandError, match="DJANGO_ENV=production"):
        call_command("migrate_reset", "--force")


def test_reset_is_refused_when_the_environment_says_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ENV", "Production")
    with pytest.raises(CommandError, match="DJANGO_ENV=production"):
        call_command("migrate_reset", "--force")


def test_reset_without_force_is_refused() -> None:
    with pytest.raises(CommandError, match="pass --force"):
        call_command("migrate_reset")

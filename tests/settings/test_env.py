"""Settings readers: malformed values fail loudly, naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from growthcompass.cache.config import caches_from_url
from growthcompass.db.config import database_from_url
from growthcompass.env import env_bool, env_choice, env_int, env_list, env_str

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_env_int_names_the_variable_on_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_TEST_INT", "twenty")
    with pytest.raises(ImproperlyConfigured, match="GC_TEST_INT must be an integer; got 'twenty'"):
        env_int("GC_TEST_INT", 1)


def test_env_int_enforces_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_TEST_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("GC_TEST_INT", 5, minimum=1)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("False", False)])
def test_env_bool_accepts_common_spellings(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("GC_TEST_BOOL", raw)
    assert env_bool("GC_TEST_BOOL", not expected) is expected


def test_env_bool_rejects_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_TEST_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="GC_TEST_BOOL must be a boolean"):
        env_bool("GC_TEST_BOOL", False)


def test_secret_comes_from_name_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("GC_TEST_SECRET", raising=False)
    monkeypatch.setenv("GC_TEST_SECRET_FILE", str(secret))
    assert env_str("GC_TEST_SECRET") == "s3cret"


def test_unreadable_name_file_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GC_TEST_SECRET", raising=False)
    monkeypatch.setenv("GC_TEST_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="GC_TEST_SECRET_FILE points at"):
        env_str("GC_TEST_SECRET")


def test_env_choice_lists_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ENV_PROBE", "staging")
    with pytest.raises(ImproperlyConfigured, match="one of development, test, production"):
        env_choice("DJANGO_ENV_PROBE", "development", ("development", "test", "production"))


def test_env_list_splits_and_trims(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_TEST_LIST", " a.example , ,b.example")
    assert env_list("GC_TEST_LIST", []) == ["a.example", "b.example"]


def test_database_url_with_wrong_scheme_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must be a PostgreSQL URL"):
        database_from_url("mysql://u@h/db")


def test_database_url_without_a_name_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="must name a database"):
        database_from_url("postgres://u@h:5432")


def test_database_url_unix_socket_host_is_decoded() -> None:
    config = database_from_url("postgres://postgres@%2Ftmp%2Fpgsock/app")
    assert (config["HOST"], config["NAME"], config["USER"]) == ("/tmp/pgsock", "app", "postgres")


def test_database_config_has_pool_and_statement_timeout() -> None:
    config = database_from_url("postgres://u@h/db", statement_timeout_ms=1234, pool_max_size=7)
    assert config["OPTIONS"]["pool"]["max_size"] == 7
    assert "statement_timeout=1234" in config["OPTIONS"]["options"]
    assert config["CONN_MAX_AGE"] == 0


def test_redis_url_with_wrong_scheme_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be a Redis URL"):
        caches_from_url("http://localhost", key_prefix="x")


def _settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import django; from django.conf import settings; django.setup(); print(settings.DJANGO_ENV)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "growthcompass.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_secret_key() -> None:
    result = _settings_in_subprocess(
        {"DJANGO_ENV": "production", "DATABASE_URL": "postgres://u@db.example/app", "REDIS_URL": "redis://r:6379/0"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_production_refuses_to_start_without_database_url() -> None:
    result = _settings_in_subprocess({"DJANGO_ENV": "production", "SECRET_KEY": "x" * 60})
    assert result.returncode != 0
    assert "DATABASE_URL (or DATABASE_URL_FILE) must be set" in result.stderr


def test_malformed_django_env_names_the_variable() -> None:
    result = _settings_in_subprocess({"DJANGO_ENV": "staging", "DATABASE_URL": "postgres://u@h/db", "REDIS_URL": "redis://r"})
    assert result.returncode != 0
    assert "DJANGO_ENV must be one of development, test, production" in result.stderr

"""Connection settings: TLS rules, the PG* fallback, pool and timeout defaults, deploy checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from growthcompass.db.config import (
    POOL_RECONNECT_TIMEOUT_S,
    database_from_url,
    is_local_host,
    replica_from_url,
    url_from_pg_environment,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3y-" + "x" * 60


# --- TLS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sslmode", [None, "disable", "allow", "prefer"])
def test_production_refuses_a_remote_database_without_tls(sslmode: str | None) -> None:
    url = "postgres://app:pw@db.example.com:5432/app" + (f"?sslmode={sslmode}" if sslmode else "")
    with pytest.raises(ImproperlyConfigured) as excinfo:
        database_from_url(url, require_tls=True)
    message = str(excinfo.value)
    assert "DATABASE_URL connects to 'db.example.com' without TLS" in message
    assert "sslmode=require" in message and "DATABASE_SSLMODE" in message


@pytest.mark.parametrize("sslmode", ["require", "verify-ca", "verify-full"])
def test_production_accepts_tls_to_a_remote_database(sslmode: str) -> None:
    config = database_from_url(f"postgres://app:pw@db.example.com/app?sslmode={sslmode}", require_tls=True)
    assert config["OPTIONS"]["sslmode"] == sslmode


@pytest.mark.parametrize(
    "url",
    [
        "postgres://app@%2Fvar%2Frun%2Fpostgresql/app",
        "postgres://app@localhost/app",
        "postgres://app@127.0.0.1:5432/app",
        "postgres://app@[::1]:5432/app",
        "postgres:///app",
    ],
)
def test_production_allows_plaintext_to_a_local_database(url: str) -> None:
    config = database_from_url(url, require_tls=True)
    assert "sslmode" not in config["OPTIONS"]


def test_database_sslmode_overrides_the_url_explicitly() -> None:
    config = database_from_url("postgres://app@db.internal/app?sslmode=require", require_tls=True, sslmode="disable")
    assert config["OPTIONS"]["sslmode"] == "disable"


def test_database_sslmode_must_be_a_libpq_mode() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_SSLMODE must be one of disable, allow, prefer"):
        database_from_url("postgres://app@db.internal/app", sslmode="always")


def test_an_unknown_sslmode_in_the_url_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL has sslmode='on'"):
        database_from_url("postgres://app@db.internal/app?sslmode=on")


def test_outside_production_plaintext_is_left_to_libpq() -> None:
    config = database_from_url("postgres://app@db.example.com/app")
    assert "sslmode" not in config["OPTIONS"]


def test_replica_gets_the_same_tls_rule_and_names_its_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"REPLICA_DATABASE_URL connects to 'replica\.example\.com'"):
        replica_from_url("postgres://app@replica.example.com/app", require_tls=True)


def test_replica_mirrors_default_under_test() -> None:
    assert replica_from_url("postgres://app@r/app", testing=True)["TEST"] == {"MIRROR": "default"}
    assert "TEST" not in replica_from_url("postgres://app@r/app")


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("", True),
        ("/tmp/socket", True),
        ("localhost", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("/a,localhost", True),
        ("db.example.com", False),
        ("10.0.0.5", False),
        ("localhost,db.example.com", False),
    ],
)
def test_local_hosts_are_unix_sockets_and_loopback(host: str, local: bool) -> None:
    assert is_local_host(host) is local


# --- PG* fallback --------------------------------------------------------------------------------


def test_pg_variables_describe_the_database_when_database_url_is_unset() -> None:
    url = url_from_pg_environment(
        {
            "PGHOST": "db.example.com",
            "PGPORT": "6432",
            "PGUSER": "app",
            "PGPASSWORD": "p@ss:w/rd",
            "PGDATABASE": "growth",
            "PGSSLMODE": "verify-full",
        }
    )
    assert url is not None
    config = database_from_url(url, require_tls=True)
    assert (config["HOST"], config["PORT"], config["USER"], config["PASSWORD"], config["NAME"]) == (
        "db.example.com",
        6432,
        "app",
        "p@ss:w/rd",
        "growth",
    )
    assert config["OPTIONS"]["sslmode"] == "verify-full"


def test_pg_password_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pgpass"
    secret.write_text("from-a-file\n")
    url = url_from_pg_environment({"PGHOST": "/run/pg", "PGDATABASE": "growth", "PGPASSWORD_FILE": str(secret)})
    assert url is not None
    config = database_from_url(url)
    assert (config["HOST"], config["PASSWORD"], config["NAME"]) == ("/run/pg", "from-a-file", "growth")


def test_without_pghost_or_pgdatabase_there_is_no_fallback() -> None:
    assert url_from_pg_environment({"PGUSER": "app", "PGPASSWORD": "pw"}) is None


def test_a_malformed_pgport_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="PGPORT must be a port number; got 'five'"):
        url_from_pg_environment({"PGHOST": "db", "PGPORT": "five"})


# --- pool and timeouts -----------------------------------------------------------------------------


def test_pool_and_timeout_defaults_match_the_issue() -> None:
    config = database_from_url("postgres://app@db/app")
    assert config["OPTIONS"]["pool"] == {
        "min_size": 2,
        "max_size": 20,
        "timeout": 2.0,
        "max_idle": 30.0,
        "reconnect_timeout": POOL_RECONNECT_TIMEOUT_S,
    }
    assert config["OPTIONS"]["options"] == "-c statement_timeout=30000"
    assert config["OPTIONS"]["connect_timeout"] == 5
    # The pool checks each connection before handing it out (Django passes this on as ``check``).
    assert config["CONN_HEALTH_CHECKS"] is True
    assert config["CONN_MAX_AGE"] == 0


# --- the real settings module, in a subprocess ------------------------------------------------------


def _settings_json(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({expression}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DJANGO_SETTINGS_MODULE": "growthcompass.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": SECRET,
    "REDIS_URL": "rediss://cache.example.com:6380/0",
    "ALLOWED_HOSTS": "growth.example.com",
}


def test_settings_refuse_plaintext_to_a_remote_database_in_production() -> None:
    result = _settings_json({**PRODUCTION, "DATABASE_URL": "postgres://app:pw@db.example.com/app"}, "1")
    assert result.returncode != 0
    assert "DATABASE_URL connects to 'db.example.com' without TLS" in result.stderr


def test_settings_accept_an_explicit_database_sslmode_in_production() -> None:
    result = _settings_json(
        {**PRODUCTION, "DATABASE_URL": "postgres://app:pw@db.internal/app", "DATABASE_SSLMODE": "disable"},
        "settings.DATABASES['default']['OPTIONS']['sslmode']",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == "disable"


def test_settings_fall_back_to_pg_variables() -> None:
    result = _settings_json(
        {**PRODUCTION, "PGHOST": "db.example.com", "PGDATABASE": "growth", "PGUSER": "app", "PGSSLMODE": "require"},
        "{k: settings.DATABASES['default'][k] for k in ('HOST', 'NAME', 'USER')}",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"HOST": "db.example.com", "NAME": "growth", "USER": "app"}


def test_settings_pool_and_timeouts_come_from_the_environment() -> None:
    result = _settings_json(
        {
            **PRODUCTION,
            "DATABASE_URL": "postgres://app@db.example.com/app?sslmode=require",
            "DB_POOL_MAX_SIZE": "7",
            "DB_POOL_TIMEOUT": "0.5",
            "DB_POOL_MAX_IDLE": "12",
            "DB_STATEMENT_TIMEOUT_MS": "1500",
            "DB_CONNECT_TIMEOUT": "3",
        },
        "settings.DATABASES['default']['OPTIONS']",
    )
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)
    assert options["pool"] == {
        "min_size": 2,
        "max_size": 7,
        "timeout": 0.5,
        "max_idle": 12.0,
        "reconnect_timeout": POOL_RECONNECT_TIMEOUT_S,
    }
    assert options["options"] == "-c statement_timeout=1500"
    assert options["connect_timeout"] == 3


def test_settings_add_the_replica_alias_and_the_router() -> None:
    result = _settings_json(
        {
            **PRODUCTION,
            "DATABASE_URL": "postgres://app@db.example.com/app?sslmode=require",
            "REPLICA_DATABASE_URL": "postgres://app@replica.example.com/app?sslmode=verify-full",
        },
        "[settings.DATABASES['replica']['HOST'], settings.DATABASE_ROUTERS]",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["replica.example.com", ["growthcompass.db.router.PrimaryReplicaRouter"]]


def test_check_deploy_reports_no_warnings_with_production_settings() -> None:
    env = {**PRODUCTION, "DATABASE_URL": "postgres://app:pw@db.example.com:5432/app?sslmode=require"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout

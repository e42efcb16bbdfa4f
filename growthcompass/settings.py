"""Growth Compass settings: one module, driven by the environment.

``DJANGO_ENV`` is ``development`` (default), ``test`` (default under pytest)
or ``production``. Without ``DATABASE_URL`` / ``REDIS_URL`` (and outside
production) the project starts its own PostgreSQL and Redis under
``.devdata/`` -- see ``growthcompass.devservers``.
"""

from __future__ import annotations

import os
from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from growthcompass.cache.config import caches_from_url
from growthcompass.db.config import (
    connection_options_from_environment,
    database_from_url,
    replica_from_url,
    url_from_pg_environment,
)
from growthcompass.db.pooler import POOLERS, behind_pooler
from growthcompass.env import env_bool, env_choice, env_float, env_int, env_list, env_str

# Lets admin classes be written as ModelAdmin[Model] for the type checker.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

# pytest (8.2+) exports PYTEST_VERSION for the whole run: the suite gets test
# settings without anyone having to remember to export DJANGO_ENV.
DJANGO_ENV = env_choice(
    "DJANGO_ENV",
    "test" if "PYTEST_VERSION" in os.environ else "development",
    ("development", "test", "production"),
)
IS_PRODUCTION = DJANGO_ENV == "production"

_secret_key = env_str("SECRET_KEY")
if not _secret_key:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DJANGO_ENV=production")
    _secret_key = "insecure-development-key-not-for-production"  # noqa: S105 - never used in production
SECRET_KEY = _secret_key

DEBUG = env_bool("DEBUG", default=DJANGO_ENV == "development")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    # Before django.contrib.admin: its admin/change_form.html adds the audit history link.
    "auditing",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_extensions",
    "pgtrigger",
    "growthcompass",
    "growthcompass.cache",
    "growthcompass.schema",
    "growthcompass.partitions",
    "students",
    "courses",
    "attendance",
    "feedback",
    "dashboards",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "auditing.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "growthcompass.urls"
WSGI_APPLICATION = "growthcompass.wsgi.application"
ASGI_APPLICATION = "growthcompass.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# Where the embedded servers keep their state (<root>/.devdata). DEVSERVERS_AUTOSTART=0 computes
# their URLs without starting them: manage.py sets it for healthcheck, which reports what it finds.
DEVSERVERS_ROOT = Path(env_str("DEVSERVERS_ROOT") or BASE_DIR)
DEVDATA_DIR = DEVSERVERS_ROOT / ".devdata"
DEVSERVERS_AUTOSTART = env_bool("DEVSERVERS_AUTOSTART", True)

_database_url = env_str("DATABASE_URL")
_database_variable = "DATABASE_URL"
if not _database_url and (_pg_url := url_from_pg_environment()):
    _database_url, _database_variable = _pg_url, "PGHOST/PGDATABASE"
if not _database_url:
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            "DATABASE_URL (or DATABASE_URL_FILE) must be set when DJANGO_ENV=production "
            "(or PGHOST/PGDATABASE and the other PG* variables)"
        )
    from growthcompass.devservers import embedded_database_url, ensure_postgres

    _database_url = (ensure_postgres if DEVSERVERS_AUTOSTART else embedded_database_url)(DEVSERVERS_ROOT)

# Pool, timeouts (DB_POOL_*, DB_STATEMENT_TIMEOUT_MS, DB_CONNECT_TIMEOUT) and TLS
# rules shared by the primary and the replica: in production a non-local
# database without sslmode=require or stronger is refused unless
# DATABASE_SSLMODE chooses the mode explicitly.
_connection_options = connection_options_from_environment(production=IS_PRODUCTION)
DATABASES = {"default": database_from_url(_database_url, variable=_database_variable, **_connection_options)}
_replica_url = env_str("REPLICA_DATABASE_URL")
if _replica_url:
    DATABASES["replica"] = replica_from_url(_replica_url, testing=DJANGO_ENV == "test", **_connection_options)
# A transaction-pooling PgBouncer in front of the databases (growthcompass.db.pooler, README
# "Deployment"): no startup options (statement_timeout goes per transaction instead), no
# server-side cursors, no prepared statements; LISTEN and EXPLAIN use DATABASE_DIRECT_URL.
DATABASE_POOLER = env_choice("DATABASE_POOLER", "none", ("none", *POOLERS))
_direct_url = env_str("DATABASE_DIRECT_URL")
if DATABASE_POOLER != "none":
    _direct = (
        database_from_url(_direct_url, variable="DATABASE_DIRECT_URL", **_connection_options) if _direct_url else None
    )
    for _alias, _entry in list(DATABASES.items()):
        DATABASES[_alias] = behind_pooler(
            _entry, pooler=DATABASE_POOLER, direct=_direct if _alias == "default" else None
        )
# Reads go to the replica only when asked for; see growthcompass.db.router.
DATABASE_ROUTERS = ["growthcompass.db.router.PrimaryReplicaRouter"]
DB_READ_YOUR_WRITES_SECONDS = env_float("DB_READ_YOUR_WRITES_SECONDS", 2.0, minimum=0.0)
DB_REPLICA_RETRY_SECONDS = env_float("DB_REPLICA_RETRY_SECONDS", 10.0, minimum=0.1)
DB_READ_RETRY_ATTEMPTS = env_int("DB_READ_RETRY_ATTEMPTS", 3, minimum=1)
# Base of the backoff between retries of a read whose connection was lost, in seconds.
DB_READ_RETRY_BASE_DELAY = env_float("DB_READ_RETRY_BASE_DELAY", 0.05, minimum=0.0)
# Paging bounds of the safe query API (growthcompass.db.query).
SAFE_QUERY_DEFAULT_LIMIT = env_int("SAFE_QUERY_DEFAULT_LIMIT", 100, minimum=1)
SAFE_QUERY_MAX_LIMIT = max(SAFE_QUERY_DEFAULT_LIMIT, env_int("SAFE_QUERY_MAX_LIMIT", 1000, minimum=1))
SAFE_QUERY_MAX_OFFSET = env_int("SAFE_QUERY_MAX_OFFSET", 100_000, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------
_redis_url = env_str("REDIS_URL")
if not _redis_url:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("REDIS_URL (or REDIS_URL_FILE) must be set when DJANGO_ENV=production")
    from growthcompass.devservers import embedded_redis_url, ensure_redis

    _redis_url = (ensure_redis if DEVSERVERS_AUTOSTART else embedded_redis_url)(DEVSERVERS_ROOT)
REDIS_URL = _redis_url
CACHES = caches_from_url(
    REDIS_URL,
    key_prefix=env_str("CACHE_KEY_PREFIX", f"gc-{DJANGO_ENV}") or "gc",
    # Bump to orphan every cached entry at once (a change of a cached payload's fields).
    version=env_int("CACHE_VERSION", 1, minimum=1),
)
# Cached selectors (growthcompass.cache): the in-process tier in front of Redis
# (kept coherent by pub/sub), and the invalidation listener as a thread of this
# process instead of, or besides, `manage.py cache_listener`.
CACHE_LOCAL_TIER = env_bool("CACHE_LOCAL_TIER", False)
CACHE_LOCAL_TTL_S = env_float("CACHE_LOCAL_TTL_S", 5.0, minimum=0.0)
CACHE_LOCAL_MAX_ENTRIES = env_int("CACHE_LOCAL_MAX_ENTRIES", 2048, minimum=1)
# On by default in development so `make run` needs no second process to see psql and
# bulk writes; production runs `manage.py cache_listener` as its own service.
CACHE_LISTENER_IN_PROCESS = env_bool("CACHE_LISTENER_IN_PROCESS", DJANGO_ENV == "development")
# The `cache_listener` health check fails when no invalidation listener is alive (raw-SQL and psql
# writes would stay stale for the TTL). Off under pytest, where no server runs.
CACHE_LISTENER_REQUIRED = env_bool("CACHE_LISTENER_REQUIRED", DJANGO_ENV != "test")
# `cache_listener` reloads the declared querysets marked rewarm=True once writes to their tables
# have paused this long (growthcompass.cache.warming.Rewarmer).
CACHE_REWARM = env_bool("CACHE_REWARM", True)
CACHE_REWARM_DELAY_S = env_float("CACHE_REWARM_DELAY_S", 0.05, minimum=0.0)

# --- Auth, i18n, static ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    # Hashing cost is irrelevant to what the suite checks and dominates its run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".devdata" / "static"

LOGIN_URL = "admin:login"

# --- Production hardening ----------------------------------------------------------
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "growthcompass": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO") or "INFO"},
    },
}

# --- Query monitoring (growthcompass.db.monitoring) ----------------------------------
# Queries slower than this are logged as warnings by growthcompass.db.monitoring.
SLOW_QUERY_MS = env_float("SLOW_QUERY_MS", 1000.0, minimum=0.0)
QUERY_TRACKING = env_bool("QUERY_TRACKING", True)
# Seconds between publications of this process's query metrics to Redis, where
# `manage.py query_report` merges every process's; 0 disables publishing.
QUERY_PUBLISH_S = env_float("QUERY_PUBLISH_S", 0.0 if DJANGO_ENV == "test" else 30.0, minimum=0.0)
# `query_report --explain` flags a sequential scan of a table this large.
QUERY_LARGE_TABLE_ROWS = env_int("QUERY_LARGE_TABLE_ROWS", 10_000, minimum=0)

# --- Health checks (growthcompass.health) ---------------------------------------------
# Connect and statement timeout of the database checks (and of EXPLAIN).
HEALTH_TIMEOUT_S = env_float("HEALTH_TIMEOUT_S", 2.0, minimum=0.1)
HEALTH_REPLICA_MAX_LAG_S = env_float("HEALTH_REPLICA_MAX_LAG_S", 30.0, minimum=0.0)

# --- Materialized views ---------------------------------------------------------------
VIEWS_REFRESH_STATEMENT_TIMEOUT_MS = env_int("VIEWS_REFRESH_STATEMENT_TIMEOUT_MS", 600_000, minimum=0)
# The health check fails for a view refreshed longer ago than this.
VIEWS_MAX_AGE_S = env_int("VIEWS_MAX_AGE_S", 3600, minimum=1)

# --- Audit log (auditing) -------------------------------------------------------------
# Columns never copied into audit_log, by table. Changing this changes the audit
# triggers: run `manage.py makemigrations auditing` afterwards.
AUDIT_REDACTED_COLUMNS: dict[str, tuple[str, ...]] = {"auth_user": ("password",)}
# audit_prune refuses a --before later than this many days ago.
AUDIT_PRUNE_MIN_AGE_DAYS = env_int("AUDIT_PRUNE_MIN_AGE_DAYS", 30, minimum=0)
# What audit_prune does with a whole monthly partition older than the cut-off: "drop" it,
# or "detach" it (kept as a table of its own, outside the log, to archive and drop by hand).
AUDIT_PRUNE_PARTITIONS = env_choice("AUDIT_PRUNE_PARTITIONS", "drop", ("drop", "detach"))
# Months before the current one that retention keeps (0 = all): partitions_maintain creates
# no partition older than that when it catches up after an outage.
AUDIT_RETENTION_MONTHS = env_int("AUDIT_RETENTION_MONTHS", 0, minimum=0)

# --- Partitions (growthcompass.partitions) --------------------------------------------
# Months after the current one whose partitions partitions_maintain creates ahead of time.
PARTITIONS_AHEAD = env_int("PARTITIONS_AHEAD", 3, minimum=1)
# How long partition DDL (partitions_maintain, audit_prune) waits for a table lock.
PARTITIONS_LOCK_TIMEOUT_MS = env_int("PARTITIONS_LOCK_TIMEOUT_MS", 5_000, minimum=1)

# --- Migrations (growthcompass.schema) -------------------------------------------------
# How long a migration waits for a table lock before failing instead of queueing
# every other query behind it, and a statement timeout for migrations (0 = none).
MIGRATION_LOCK_TIMEOUT_MS = env_int("MIGRATION_LOCK_TIMEOUT_MS", 5_000, minimum=0)
MIGRATION_STATEMENT_TIMEOUT_MS = env_int("MIGRATION_STATEMENT_TIMEOUT_MS", 0, minimum=0)

# --- Prometheus metrics (growthcompass.metrics, docs/metrics.md) -----------------------
INSTALLED_APPS.append("growthcompass.metrics")
# First, so a request's time covers the other middleware too.
MIDDLEWARE.insert(0, "growthcompass.metrics.middleware.MetricsMiddleware")
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
# Bearer token /metrics requires; without one /metrics is refused in production.
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""
METRICS_MAX_ROUTES = env_int("METRICS_MAX_ROUTES", 30, minimum=1)
METRICS_MAX_STATEMENTS = env_int("METRICS_MAX_STATEMENTS", 40, minimum=1)
METRICS_AUDIT_WINDOW_S = env_int("METRICS_AUDIT_WINDOW_S", 300, minimum=1)

# --- sqlcommenter (growthcompass.db.sqlcomment) ------------------------------------------
# Each statement carries a comment naming the route or command that sent it, for
# PostgreSQL's logs and pg_stat_activity. Off by default.
SQLCOMMENTER_ENABLED = env_bool("SQLCOMMENTER_ENABLED", False)
MIDDLEWARE.append("growthcompass.db.sqlcomment.SqlCommentMiddleware")

# --- Captured plans of slow statements (growthcompass.plans, docs/metrics.md) -------------
INSTALLED_APPS.append("growthcompass.plans")
# Off under test, where a worker thread writing plans behind other tests' backs would only get in
# their way; tests/plans turns it on.
PLANS_CAPTURE = env_bool("PLANS_CAPTURE", DJANGO_ENV != "test")
PLANS_MAX_ROWS = env_int("PLANS_MAX_ROWS", 200, minimum=1)
PLANS_RECAPTURE_S = env_float("PLANS_RECAPTURE_S", 3600.0, minimum=0.0)
PLANS_MAX_PER_MINUTE = env_int("PLANS_MAX_PER_MINUTE", 6, minimum=1)

# --- Staff dashboard (dashboards, docs/dashboard.md) ----------------------------------------
# How long the operations page's health-check results are shared before the checks run again.
DASHBOARDS_HEALTH_TTL_S = env_float("DASHBOARDS_HEALTH_TTL_S", 15.0, minimum=0.0)

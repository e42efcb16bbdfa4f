"""Running behind a transaction-pooling PgBouncer (``DATABASE_POOLER=pgbouncer``).

In ``pool_mode = transaction`` a client holds a server connection only for
the length of one transaction; the next transaction of the same client may
run on another server connection, and whatever a transaction left on the
session (a ``SET``, a prepared statement, a held cursor, a session advisory
lock, a ``LISTEN``) is inherited by whichever client runs there next. So an
alias behind the pooler:

- sends no ``options`` startup parameter (PgBouncer refuses it: "unsupported
  startup parameter"); ``statement_timeout`` is instead set transaction-locally
  (``set_config(..., true)``) at the start of every transaction by the alias's
  cursor class (``growthcompass.db.transaction_settings``), so the timeout is in
  force on whichever server connection runs it;
- uses no server-side cursors (``DISABLE_SERVER_SIDE_CURSORS``): a
  ``WITH HOLD`` cursor outlives the transaction that declared it;
- keeps prepared statements off (``prepare_threshold=None``);
- opens connections that need a real session (the invalidation listener's
  ``LISTEN``, ``EXPLAIN`` of a prepared statement) to ``DATABASE_DIRECT_URL``,
  the same database reached without the pooler.

``check_pooler_compatibility`` (a Django system check) lists whatever in
``DATABASES`` would break under the pooler.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from growthcompass.db.transaction_settings import PoolerCursor, cursor_class

POOLERS = ("pgbouncer",)
# Keys of a DATABASES entry set by ``behind_pooler`` (Django ignores keys it does not know).
POOLER_KEY = "POOLER"
DIRECT_KEY = "DIRECT"
TIMEOUT_KEY = "STATEMENT_TIMEOUT_MS"
# libpq parameters the direct URL supplies; the database name always comes from the alias (which a
# test run renames to test_<name>).
_DIRECT_PARAMS = ("host", "port", "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey")
_STARTUP_TIMEOUT = re.compile(r"-c\s*statement_timeout=(\d+)")


def behind_pooler(
    config: dict[str, Any],
    *,
    pooler: str,
    direct: Mapping[str, Any] | None = None,
    variable: str = "DATABASE_POOLER",
) -> dict[str, Any]:
    """Turn a ``DATABASES`` entry built by ``database_from_url`` into one that works through ``pooler``.

    ``direct`` is the entry (also from ``database_from_url``) of ``DATABASE_DIRECT_URL``; its
    host, port, user, password and TLS settings are used for session connections. Its database
    name is not: a session connection always opens the alias's own database (which a test run
    renames to ``test_<name>``, and a child process may be pointed at through ``DATABASE_URL`` alone).
    """
    if pooler not in POOLERS:
        raise ImproperlyConfigured(f"{variable} must be one of {', '.join(POOLERS)} (or unset); got {pooler!r}")
    entry = dict(config)
    options = dict(entry.get("OPTIONS") or {})
    startup = str(options.pop("options", "") or "")
    if match := _STARTUP_TIMEOUT.search(startup):
        entry[TIMEOUT_KEY] = int(match.group(1))
        startup = _STARTUP_TIMEOUT.sub("", startup).strip()
    if startup:
        # Anything else in the startup options would be refused by the pooler: keep it for the check to report.
        options["options"] = startup
    options["prepare_threshold"] = None
    # statement_timeout (and the migration timeouts) go with each transaction instead.
    options["cursor_factory"] = cursor_class(entry.get(TIMEOUT_KEY))
    entry["OPTIONS"] = options
    entry["DISABLE_SERVER_SIDE_CURSORS"] = True
    entry[POOLER_KEY] = pooler
    if direct is not None:
        direct_options = direct.get("OPTIONS") or {}
        params = {
            "host": direct.get("HOST") or "",
            "port": direct.get("PORT") or "",
            "user": direct.get("USER") or "",
            "password": direct.get("PASSWORD") or "",
            **{key: direct_options[key] for key in _DIRECT_PARAMS if key in direct_options},
        }
        entry[DIRECT_KEY] = {key: value for key, value in params.items() if value != ""}
    return entry


def pooler_of(alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """The pooler ``alias`` connects through, or None for a direct connection."""
    if alias not in connections.settings:
        return None
    value = connections.settings[alias].get(POOLER_KEY)
    return str(value) if value else None


def session_connection_params(
    alias: str = DEFAULT_DB_ALIAS, *, connection: BaseDatabaseWrapper | None = None
) -> dict[str, Any]:
    """libpq parameters for a connection that needs a session of its own (``LISTEN``, ``PREPARE``).

    The alias's own parameters, except that behind a pooler the host, port,
    user, password and TLS settings come from ``DATABASE_DIRECT_URL`` when it
    is set, and the startup ``options`` a pooler refuses are gone.
    ``connection`` stands in for ``connections[alias]``.
    """
    wrapper = connection if connection is not None else connections[alias]
    params: dict[str, Any] = dict(wrapper.get_connection_params())
    settings_dict = wrapper.settings_dict
    direct = settings_dict.get(DIRECT_KEY)
    if settings_dict.get(POOLER_KEY) and direct:
        for key in _DIRECT_PARAMS:
            params.pop(key, None)
        params.update(direct)
        timeout_ms = settings_dict.get(TIMEOUT_KEY)
        if timeout_ms is not None:
            params["options"] = f"-c statement_timeout={int(timeout_ms)}"
    return params


def accepts_startup_options(alias: str = DEFAULT_DB_ALIAS, *, connection: BaseDatabaseWrapper | None = None) -> bool:
    """Whether ``session_connection_params(alias)`` reaches a server that takes ``-c name=value`` options."""
    settings_dict = (connection if connection is not None else connections[alias]).settings_dict
    return not settings_dict.get(POOLER_KEY) or bool(settings_dict.get(DIRECT_KEY))


# --- The system check ----------------------------------------------------------------------------


def check_pooler_compatibility(
    *, app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Everything in an alias behind a transaction pooler that needs a session the pooler does not keep."""
    from django.conf import settings

    return pooler_problems(settings.DATABASES)


def pooler_problems(databases: Mapping[str, Mapping[str, Any]]) -> list[CheckMessage]:
    """The check's findings for a ``DATABASES`` mapping."""
    messages: list[CheckMessage] = []
    for alias, settings_dict in databases.items():
        pooler = settings_dict.get(POOLER_KEY)
        if pooler:
            messages.extend(_alias_problems(alias, str(pooler), settings_dict))
    return messages


def _alias_problems(alias: str, pooler: str, settings_dict: Mapping[str, Any]) -> Iterator[CheckMessage]:
    options = settings_dict.get("OPTIONS") or {}
    where = f"DATABASES[{alias!r}] is behind {pooler} (transaction pooling)"
    if options.get("options"):
        yield Error(
            f"{where} but sets session options at connect: OPTIONS['options'] = {options['options']!r}.",
            hint="The pooler refuses startup options; set such values per transaction (set_config(..., true)).",
            id="growthcompass.E101",
        )
    if not settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        yield Error(
            f"{where} but DISABLE_SERVER_SIDE_CURSORS is off.",
            hint="A server-side cursor outlives its transaction's server connection; set it to True.",
            id="growthcompass.E102",
        )
    if options.get("prepare_threshold") is not None:
        yield Error(
            f"{where} but OPTIONS['prepare_threshold'] = {options['prepare_threshold']!r}.",
            hint="Prepared statements live on one server connection; set prepare_threshold to None.",
            id="growthcompass.E103",
        )
    factory = options.get("cursor_factory")
    if options.get("server_side_binding") or not (isinstance(factory, type) and issubclass(factory, PoolerCursor)):
        yield Error(
            f"{where} but its cursors do not send statement_timeout with each transaction.",
            hint="Leave OPTIONS['cursor_factory'] and OPTIONS['server_side_binding'] to growthcompass.db.pooler "
            "(behind_pooler sets a cursor class that prefixes each transaction with set_config(..., true)).",
            id="growthcompass.E106",
        )
    if options.get("assume_role"):
        yield Error(
            f"{where} but OPTIONS['assume_role'] runs a session SET ROLE on each new connection.",
            hint="Connect as the role itself (the user in the URL), or SET LOCAL ROLE per transaction.",
            id="growthcompass.E104",
        )
    if alias == DEFAULT_DB_ALIAS and not settings_dict.get(DIRECT_KEY):
        yield Error(
            f"{where} but no direct connection is configured for LISTEN.",
            hint="Set DATABASE_DIRECT_URL to the same database reached without the pooler: the cache "
            "invalidation listener's LISTEN and EXPLAIN need a session of their own.",
            id="growthcompass.E105",
        )

"""What the command guard needs: the project's commands, their arguments, and the state they must not touch."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import management
from django.core.management import find_commands, get_commands, load_command_class
from django.db import connection
from hypothesis import strategies as st

from growthcompass.cache import get_store

# Django's own options on every command (--settings, --verbosity ...): not the project's to validate.
BASE_DESTS = frozenset(
    {"help", "version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks"}
)
# Options that name something which must exist: an unknown name is bad input there.
NAME_DESTS = frozenset({"database", "app_label", "user", "as_user"})
# A valid value for a required argument, by option string or positional dest, so that the one generated bad
# element -- not a missing argument -- is what the command must refuse. A new command with another required
# argument is still covered: argparse refuses it for the missing argument.
VALID_REQUIRED = {"--user": "guard-staff", "--app": "students", "--before": "2000-01-01", "name": "guard_probe"}

NUMBER_TYPE_NAMES = frozenset({"int", "float", "whole number", "number", "_at_least_one"})
BAD_NUMBERS = st.one_of(
    st.sampled_from(["", " ", "abc", "1.5.2", "nan", "inf", "-inf", "1e400", "0x10", "--1"]),
    st.integers(max_value=-1).map(str),
    st.integers(min_value=10**11, max_value=10**30).map(str),
)
BAD_TEXT = st.one_of(
    st.sampled_from(["", "   ", "\t"]),
    st.text(min_size=1, max_size=5).map(lambda s: f"x\x00{s}"),
    st.text(min_size=1, max_size=5).map(lambda s: f"{s}\n{s}"),
    st.integers(min_value=1001, max_value=20_000).map(lambda n: "a" * n),
)
# An id is a bigint: beyond that, no row can have it.
BAD_IDS = st.one_of(
    st.sampled_from(["", "abc", "1.5", "nan"]),
    st.integers(max_value=0).map(str),
    st.integers(min_value=2**63, max_value=2**80).map(str),
)
UNKNOWN_NAME = st.from_regex(r"zz_no_such_[a-z0-9]{1,8}", fullmatch=True)


def project_commands() -> dict[str, str]:
    """Every management command defined by an app of this project (not Django's, not a third party's)."""
    base = Path(settings.BASE_DIR).resolve()
    project_apps = {
        config.name
        for config in apps.get_app_configs()
        if base in Path(config.path).resolve().parents and ".venv" not in Path(config.path).parts
    }
    # A project override of one of Django's own commands (migrate and flush, run as the tables' owner)
    # wraps Django's command unchanged: Django's arguments, Django's checks.
    core = set(find_commands(str(Path(management.__file__).parent)))
    return {
        name: app for name, app in sorted(get_commands().items()) if app in project_apps and name not in core
    }


def parser_of(name: str) -> argparse.ArgumentParser:
    app = get_commands()[name]
    return load_command_class(app, name).create_parser("manage.py", name)


def own_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in parser._actions if action.dest not in BASE_DESTS]


def takes_no_value(action: argparse.Action) -> bool:
    return action.nargs == 0


def bad_values(action: argparse.Action) -> st.SearchStrategy[str]:
    """Values that are wrong for ``action`` whatever the command: wrong type, out of range, empty, huge, unknown."""
    if action.choices:
        choices = {str(choice) for choice in action.choices}
        return st.one_of(BAD_TEXT, UNKNOWN_NAME).filter(lambda value: value not in choices)
    type_name = getattr(action.type, "__name__", None)
    if type_name in NUMBER_TYPE_NAMES:
        return BAD_IDS if action.metavar == "ID" else BAD_NUMBERS
    if action.dest in NAME_DESTS:
        return st.one_of(BAD_TEXT, UNKNOWN_NAME)
    return BAD_TEXT


@st.composite
def bad_argv(draw: st.DrawFn, parser: argparse.ArgumentParser) -> list[str]:
    """An argument list with exactly one bad element, among valid required values and any of the flags."""
    actions = own_actions(parser)
    flags = [opt for action in actions if takes_no_value(action) for opt in action.option_strings]
    valued = [action for action in actions if not takes_no_value(action)]
    kinds = ["unknown-option", "extra-positional"] + (["bad-value"] if valued else [])
    kind = draw(st.sampled_from(kinds))
    target = draw(st.sampled_from(valued)) if kind == "bad-value" else None

    argv: list[str] = []
    for action in valued:
        if action is target or not action.required:
            continue
        key = action.option_strings[0] if action.option_strings else action.dest
        if key in VALID_REQUIRED:
            argv += [key, VALID_REQUIRED[key]] if action.option_strings else [VALID_REQUIRED[key]]
    argv += draw(st.lists(st.sampled_from(flags), max_size=3, unique=True)) if flags else []
    if kind == "unknown-option":
        argv.append("--zz-no-such-option")
    elif kind == "extra-positional":
        positionals = [action for action in valued if not action.option_strings]
        # Fill the positionals first so the extra one is really one too many.
        for action in positionals:
            if action.dest not in VALID_REQUIRED:
                argv.append("1")
            elif not action.required:
                argv.append(VALID_REQUIRED[action.dest])
        argv += ["zz-extra", "zz-extra-2"]
    else:
        assert target is not None
        value = draw(bad_values(target))
        if target.option_strings:
            # "--opt=value": a value starting with "-" is then not read as an option.
            argv.append(f"{target.option_strings[-1]}={value}")
        else:
            argv.append(value)
    return argv


def database_state() -> dict[str, int]:
    """Row counts of every table in the database (the project's, Django's and the audit log)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            # Every relation the application role reads: the materialized views' stored rows are the
            # owner's, read through their security-barrier views (dashboards 0004).
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm', 'v') "
            "AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def cache_keys() -> dict[bytes, int]:
    """Keys under this project's cache prefix, bookkeeping included, with their TTL in ms (-1: none)."""
    store = get_store()
    pattern = store.prefix.replace("*", "\\*").replace("?", "\\?").replace("[", "\\[") + "*"
    return {key: store.client.pttl(key) for key in store.client.scan_iter(match=pattern, count=1000)}


def cache_changes(before: dict[bytes, int], after: dict[bytes, int], window_ms: int) -> list[str]:
    """What changed between two ``cache_keys()`` snapshots taken at most ``window_ms`` apart.

    A key that appeared is a change. A key that disappeared is one too, unless its
    TTL was already inside the window: such a key may simply have expired (the
    health checks and the listener heartbeat write short-lived keys), and counting
    it made the guard fail at random.
    """
    added = [f"added {key!r}" for key in after.keys() - before.keys()]
    removed = [
        f"removed {key!r}" for key in before.keys() - after.keys() if before[key] == -1 or before[key] > window_ms
    ]
    return added + removed

"""Every project command refuses bad arguments cleanly through ``manage.py`` itself, the path users hit.

``test_commands_refuse_bad_arguments`` runs the commands in-process with
``call_command``; this guard runs real ``manage.py`` subprocesses against the
suite's database and cache, so it also sees what only a process shows: the
exit status, everything written to stderr (a traceback, a log line, a
listener announcing itself), and an argparse refusal as the user reads it. The
commands are found as there (``project_commands()``) and the cases come from
the same strategy (``bad_argv``: exactly one bad element), a bounded number per
command: each case is a process start of a second or more, so the default run
takes a sample of each command's kinds of bad argument and the slow suite one
case of every kind.

Each refusal must exit non-zero with, on stderr, no traceback and exactly one
message line: ``CommandError: ...`` (exit 1), or argparse's
``manage.py <command>: error: ...`` (exit 2) after its usage block -- the
usage is argparse's standard help, the message is the one line. No table's row
count and no cache key may change.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from hypothesis import given

from tests.db.aliases import owner_database_url, suite_database_url
from tests.factories import StaffUserFactory
from tests.guards.commands import bad_argv, cache_changes, cache_keys, database_state, parser_of, project_commands
from tests.guards.test_commands_refuse_bad_arguments import GUARDED, REWRITTEN_ELSEWHERE, guard

REPO = Path(settings.BASE_DIR)
# Cases per command in the default run (a process start each, a second or more): one bad value, the
# argument a fixed rotation picks (the command's own validation, where the defects were); the slow
# suite runs one case of every kind, argparse's own (unknown option, positional too many) included.
DEFAULT_KINDS_PER_COMMAND = 1
# Processes at once: the commands mostly wait on start-up and the database, the machine has two cores.
WORKERS = 3
# A guard against a command that hangs (waits on a prompt, a lock, a server), never a performance assertion.
TIMEOUT_S = 90
# How many generated argument lists the kinds are picked from (in-process, but not free).
DRAWN_PER_COMMAND = 60


@dataclass(frozen=True)
class Case:
    command: str
    argv: tuple[str, ...]
    kind: str

    def __str__(self) -> str:
        shown = " ".join(arg if len(arg) <= 40 else f"{arg[:37]}...({len(arg)} chars)" for arg in self.argv)
        return f"manage.py {self.command} {shown}"


def kind_of(argv: list[str]) -> str:
    """What the one bad element is: an unknown option, a positional too many, or which argument's value."""
    if "--zz-no-such-option" in argv:
        return "unknown-option"
    if "zz-extra" in argv:
        return "extra-positional"
    last = argv[-1]
    return f"bad-value {last.split('=', 1)[0]}" if last.startswith("--") else "bad-value (positional)"


def passable(argv: list[str]) -> bool:
    """Whether a process can be given ``argv`` at all (no NUL byte, encodable): a shell cannot type the rest."""
    try:
        return not any("\x00" in arg for arg in argv) and all(os.fsencode(arg) is not None for arg in argv)
    except UnicodeEncodeError:
        return False


@functools.cache
def cases_of(command: str, kinds: int | None) -> list[Case]:
    """One case per kind of bad argument of ``command``, the first ``kinds`` of them (all when ``None``).

    Bad values come first: they reach the command's own validation, where the
    defects were; the other kinds are argparse's and alternate between commands.
    """
    drawn: list[list[str]] = []

    @guard(DRAWN_PER_COMMAND)
    @given(argv=bad_argv(parser_of(command)))
    def collect(argv: list[str]) -> None:
        drawn.append(argv)

    collect()
    by_kind: dict[str, list[str]] = {}
    for argv in drawn:
        if passable(argv):
            by_kind.setdefault(kind_of(argv), argv)
    values = sorted(kind for kind in by_kind if kind.startswith("bad-value"))
    others = sorted(kind for kind in by_kind if not kind.startswith("bad-value"))
    if kinds is None:
        chosen = values + others
    else:
        # A fixed choice per command (so failures reproduce), spread over the commands.
        values, others = _rotated(values, command), _rotated(others, command)
        chosen = (values[:1] + others + values[1:])[:kinds]
    return [Case(command, tuple(by_kind[kind]), kind) for kind in chosen]


def _rotated(kinds: list[str], command: str) -> list[str]:
    if not kinds:
        return kinds
    shift = sum(map(ord, command)) % len(kinds)
    return kinds[shift:] + kinds[:shift]


def command_environment() -> dict[str, str]:
    """The suite's own environment, pointed at its test database and cache, with no server started."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=suite_database_url(),
        MIGRATION_DATABASE_URL=owner_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=settings.CACHES["default"]["KEY_PREFIX"],
        DEVSERVERS_AUTOSTART="0",
    )
    return env


@dataclass(frozen=True)
class Outcome:
    case: Case
    returncode: int
    stderr: str
    timed_out: bool = False


def run_case(case: Case, env: dict[str, str]) -> Outcome:
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", case.command, *case.argv],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,  # a prompt reads end of file, as from a script
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else str(exc.stderr or "")
        return Outcome(case, 0, f"still running after {TIMEOUT_S} s\n{stderr}", timed_out=True)
    return Outcome(case, result.returncode, result.stderr)


def refusal_problems(outcome: Outcome) -> list[str]:
    """What is wrong with how ``manage.py`` refused (empty when it refused cleanly)."""
    name, stderr = outcome.case.command, outcome.stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    problems = []
    if outcome.timed_out:
        problems.append(f"did not finish in {TIMEOUT_S} s")
    elif outcome.returncode == 0:
        problems.append("exit status 0")
    if "Traceback" in stderr:
        problems.append("a traceback")
    if lines and lines[0].startswith("usage: "):
        # argparse: its usage block (first line, then indented continuation lines), then one message line.
        usage, message = lines[:-1], lines[-1]
        if not message.startswith(f"manage.py {name}: error: ") or len(message.split(": error: ", 1)[1]) == 0:
            problems.append(f"last line is not argparse's message: {message!r}")
        if any(not line.startswith(" ") for line in usage[1:]):
            problems.append("lines besides the usage and the message")
        if outcome.returncode != 2:
            problems.append(f"argparse refusal with exit status {outcome.returncode}")
    elif len(lines) != 1:
        problems.append(f"{len(lines)} non-empty lines on stderr, not one")
    return [f"{outcome.case} ({outcome.case.kind}): {problem}; stderr: {stderr[-600:]!r}" for problem in problems]


def check_commands(cases: Iterable[Case]) -> None:
    cases = list(cases)
    env = command_environment()
    before_rows, before_keys, started = database_state(), cache_keys(), time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(lambda case: run_case(case, env), cases))
    window_ms = int((time.monotonic() - started) * 1000) + 1000
    problems = [problem for outcome in outcomes for problem in refusal_problems(outcome)]
    assert problems == [], "\n".join(problems)
    after_rows, changed_keys = database_state(), cache_changes(before_keys, cache_keys(), window_ms)
    if after_rows != before_rows or changed_keys:
        # The cases ran together: find which one changed something, one at a time, for the message.
        raise AssertionError(f"the refusals changed the database or the cache: {culprits(cases, env)}")


def culprits(cases: list[Case], env: dict[str, str]) -> list[str]:
    found = []
    for case in cases:
        rows, keys, started = database_state(), cache_keys(), time.monotonic()
        run_case(case, env)
        window_ms = int((time.monotonic() - started) * 1000) + 1000
        after = database_state()
        changed = {table: (rows[table], after.get(table)) for table in rows if rows[table] != after.get(table)}
        key_changes = cache_changes(keys, cache_keys(), window_ms)
        if changed or key_changes:
            found.append(f"{case}: rows {changed}, cache {key_changes}")
    return found


@pytest.fixture
def committed_guard_user(transactional_db: None) -> None:
    """The user the cases name, committed: the commands run in processes of their own."""
    StaffUserFactory.create(username="guard-staff")


def test_every_command_is_sampled() -> None:
    commands = sorted(project_commands())
    sampled = {case.command for name in commands for case in cases_of(name, DEFAULT_KINDS_PER_COMMAND)}
    assert sampled == set(commands)


def test_a_sample_takes_a_bad_value_first_then_an_argparse_kind_and_the_slow_run_every_kind() -> None:
    sample = cases_of("seed_demo", 2)
    assert [case.kind.startswith("bad-value") for case in sample] == [True, False]
    assert [case.kind.startswith("bad-value") for case in cases_of("seed_demo", 1)] == [True]
    every = {case.kind for case in cases_of("seed_demo", None)}
    assert {"unknown-option", "extra-positional", "bad-value --students", "bad-value --as-user"} <= every
    assert {case.kind for case in sample} < every


def test_a_clean_refusal_is_told_from_a_traceback_and_extra_lines() -> None:
    case = Case("seed_demo", ("--students=0",), "bad-value --students")
    usage = "usage: manage.py seed_demo [-h]\n                 [--json]\n"
    assert refusal_problems(Outcome(case, 2, usage + "manage.py seed_demo: error: argument --students: no\n")) == []
    assert refusal_problems(Outcome(case, 1, "CommandError: --students must be at least 1\n")) == []
    assert refusal_problems(Outcome(case, 0, "CommandError: no\n"))
    assert refusal_problems(Outcome(case, 1, "Traceback (most recent call last):\n  File x\nValueError: no\n"))
    assert refusal_problems(Outcome(case, 1, "listener started\nCommandError: no\n"))
    assert refusal_problems(Outcome(case, 1, usage + "manage.py seed_demo: error: no\n"))
    assert refusal_problems(Outcome(case, 2, usage + "a log line\nmanage.py seed_demo: error: no\n"))


def guarded_cases(kinds: int | None) -> list[Any]:
    names = [name for name in sorted(project_commands()) if name not in REWRITTEN_ELSEWHERE]
    assert len(names) + len(REWRITTEN_ELSEWHERE) == len(GUARDED)
    return [case for name in names for case in cases_of(name, kinds)]


# Hang guards sized for a process per case on a loaded two-core machine (the suite's 300 s is per test).
@pytest.mark.timeout(900)
def test_manage_py_refuses_a_sample_of_bad_arguments_of_every_command(committed_guard_user: None) -> None:
    check_commands(guarded_cases(DEFAULT_KINDS_PER_COMMAND))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_manage_py_refuses_every_kind_of_bad_argument_of_every_command(committed_guard_user: None) -> None:
    check_commands(guarded_cases(None))

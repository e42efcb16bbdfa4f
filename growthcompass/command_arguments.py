"""Argument types shared by the project's management commands: bounded numbers, sane text, a known alias.

argparse turns an ``ArgumentTypeError`` into ``CommandError`` (``call_command``)
or a one-line usage error with exit status 2 (``manage.py``), before ``handle``
runs -- so a refused argument never leaves anything half-done. Every number
has a documented maximum, because an unbounded one reaches PostgreSQL as an
out-of-range timestamp or an allocation that never ends; every string refuses
the empty string, control characters (PostgreSQL text cannot hold NUL) and
lengths no real value has.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from django.core.management.base import CommandError
from django.db import connections

__all__ = ["MAX_TEXT_LENGTH", "bounded_float", "bounded_int", "database_alias", "database_alias_or_refuse", "text"]

MAX_TEXT_LENGTH = 1000


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``minimum`` to ``maximum`` inclusive."""

    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number; got {_shown(value)}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {_shown(value)}")
        if number > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}; got {_shown(value)}")
        return number

    parse.__name__ = "whole number"  # argparse names the type in its own messages
    return parse


def bounded_float(minimum: float, maximum: float, *, minimum_inclusive: bool = True) -> Callable[[str], float]:
    """An argparse ``type``: a finite number from ``minimum`` (inclusive unless told) to ``maximum``."""

    def parse(value: str) -> float:
        try:
            number = float(value.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number; got {_shown(value)}") from None
        if not math.isfinite(number):
            raise argparse.ArgumentTypeError(f"must be a finite number; got {_shown(value)}")
        if number < minimum or (number == minimum and not minimum_inclusive):
            bound = "at least" if minimum_inclusive else "more than"
            raise argparse.ArgumentTypeError(f"must be {bound} {minimum:g}; got {_shown(value)}")
        if number > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:g}; got {_shown(value)}")
        return number

    parse.__name__ = "number"
    return parse


def text(max_length: int = MAX_TEXT_LENGTH) -> Callable[[str], str]:
    """An argparse ``type``: a non-blank string without control characters, at most ``max_length`` long."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        if len(value) > max_length:
            raise argparse.ArgumentTypeError(f"must be at most {max_length} characters; got {len(value)}")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise argparse.ArgumentTypeError(f"must not contain control characters; got {_shown(value)}")
        return value

    parse.__name__ = "text"
    return parse


def database_alias(value: str) -> str:
    """An argparse ``type``: one of the configured database aliases (``DATABASES``)."""
    if value not in connections.settings:
        raise argparse.ArgumentTypeError(
            f"unknown database alias {_shown(value)}; configured: {', '.join(connections.settings)}"
        )
    return value


database_alias.__name__ = "database alias"


def database_alias_or_refuse(value: str) -> str:
    """``database_alias`` for ``call_command`` keyword arguments, which argparse never sees."""
    try:
        return database_alias(value)
    except argparse.ArgumentTypeError as exc:
        raise CommandError(f"--database: {exc}") from None


def _shown(value: str, limit: int = 40) -> str:
    """``value`` as ``repr``, cut short: a refusal stays one readable line whatever was typed."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[: limit - 5]}...{shown[-1]}"

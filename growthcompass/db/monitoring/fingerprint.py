"""Normalised statement fingerprints: the same query with different values is one statement.

Django sends values as parameters, so most statements reach the wrapper
already free of literals; raw SQL may not. Literals (strings, numbers,
dollar-quoted bodies) and placeholders (``%s``, ``%(name)s``, ``$1``) all
become ``?``, ``IN (?, ?, ?)`` and multi-row ``VALUES`` collapse to one form
so a list's length does not split a statement in two, comments go and
whitespace is collapsed. Quoted identifiers are kept as they are.
"""

from __future__ import annotations

import hashlib
import re

_TOKENS = re.compile(
    r"""
      (?P<ident>"(?:[^"]|"")*")                               # quoted identifier: keep
    | (?P<string>(?:[EeBbXxNn]|[Uu]&)?'(?:[^'\\]|''|\\.)*')   # string literal
    | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)?\$)  # dollar-quoted literal
    | (?P<placeholder>%\(\w+\)s|%s|\$\d+)                     # parameter placeholders
    | (?P<number>\b\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\b)          # numeric literal
    | (?P<block_comment>/\*.*?\*/)
    | (?P<line_comment>--[^\n]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_WHITESPACE = re.compile(r"\s+")
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_VALUES_ROWS = re.compile(r"\bVALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)(?:\s*,\s*\(\s*\?(?:\s*,\s*\?)*\s*\))*", re.IGNORECASE)


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "ident":
        return match.group(0)
    if kind in ("block_comment", "line_comment"):
        return " "
    return "?"


def normalise(sql: str) -> str:
    """``sql`` with literals and placeholders replaced by ``?`` and whitespace collapsed."""
    text = _TOKENS.sub(_replace, sql)
    text = _WHITESPACE.sub(" ", text).strip()
    text = _IN_LIST.sub("IN (...)", text)
    return _VALUES_ROWS.sub("VALUES (...)", text)


def fingerprint(sql: str) -> tuple[str, str]:
    """``(id, normalised text)``: the id is a short stable hash of the normalised text."""
    text = normalise(sql)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), text


_PYFORMAT = re.compile(r"%%|%s|%\((\w+)\)s")
_WRITES = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|DROP|ALTER|GRANT|REVOKE|COPY|VACUUM|REFRESH|CALL|DO|LOCK"
    r"|NEXTVAL|SETVAL|PG_ADVISORY_LOCK|PG_ADVISORY_XACT_LOCK|FOR\s+(?:NO\s+KEY\s+)?UPDATE|FOR\s+(?:KEY\s+)?SHARE"
    r"|INTO)\b",
    re.IGNORECASE,
)
_READ_STARTS = ("SELECT", "WITH", "VALUES", "TABLE")


def to_positional(template: str) -> tuple[str, int]:
    """Turn a pyformat template (``%s``, ``%(name)s``, ``%%``) into PostgreSQL's ``$n`` form.

    Returns the text and the number of parameters it takes. A text that
    already uses ``$n`` (as ``pg_stat_statements`` reports) passes through.
    """
    names: dict[str, int] = {}
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        name = match.group(1)
        if name is None:
            count += 1
            return f"${count}"
        if name not in names:
            count += 1
            names[name] = count
        return f"${names[name]}"

    text = _PYFORMAT.sub(replace, template)
    if count == 0:
        count = max((int(n) for n in re.findall(r"\$(\d+)", _TOKENS.sub(_keep_placeholders, text))), default=0)
    return text, count


def _keep_placeholders(match: re.Match[str]) -> str:
    return match.group(0) if match.lastgroup == "placeholder" else " "


def is_read_only_statement(sql: str) -> bool:
    """Whether ``sql`` only reads: a SELECT/WITH/VALUES/TABLE with nothing that writes or locks rows.

    Conservative on purpose -- it runs on the normalised text (literals gone),
    so a keyword inside a string cannot fool it, and any doubt means "writes".
    """
    text = normalise(sql).lstrip("( ")
    if not text.upper().startswith(_READ_STARTS):
        return False
    return _WRITES.search(text) is None

"""SHA-256 checksums of migration files over their normalised content.

Normalising first means a checkout with CRLF line endings, a byte-order mark,
trailing spaces or extra blank lines at the end still matches the checksum
recorded on another machine; any other change, a comment included, does not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def normalise(text: str) -> str:
    """Line endings to LF, no BOM, no trailing whitespace, no blank lines at either end."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def content_checksum(text: str) -> str:
    # surrogateescape keeps undecodable bytes distinct instead of failing or merging them.
    return hashlib.sha256(normalise(text).encode("utf-8", "surrogateescape")).hexdigest()


def file_checksum(path: Path) -> str:
    """Checksum of the file at ``path`` as it is on disk now."""
    return content_checksum(path.read_bytes().decode("utf-8", "surrogateescape"))

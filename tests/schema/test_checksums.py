from __future__ import annotations

from pathlib import Path

from growthcompass.schema.checksums import content_checksum, file_checksum

SOURCE = "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    operations = []\n"


def test_checksum_ignores_line_endings_bom_and_trailing_whitespace() -> None:
    noisy = "\ufeff" + SOURCE.replace("\n", "  \r\n") + "\r\n\r\n"
    assert content_checksum(noisy) == content_checksum(SOURCE)


def test_checksum_changes_with_any_other_edit() -> None:
    assert content_checksum(SOURCE + "# edited\n") != content_checksum(SOURCE)
    assert content_checksum(SOURCE.replace("    operations", "\toperations")) != content_checksum(SOURCE)


def test_checksum_is_sha256_hex_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "0001_initial.py"
    path.write_bytes(SOURCE.encode())
    checksum = file_checksum(path)
    assert len(checksum) == 64
    assert checksum == content_checksum(SOURCE)

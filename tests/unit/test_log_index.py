"""The local event index refuses, in a sentence, a file or folder it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ConfigError
from ledger.services.sync import LogIndex


def test_a_file_that_is_not_an_index_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "31337-0xabc.sqlite"
    path.write_bytes(b"not a database at all, but long enough to be read as one" * 20)
    with pytest.raises(ConfigError) as refused:
        LogIndex(path)
    assert str(refused.value).startswith(f"the local event index {path} cannot be used (file is not a database)")
    assert "delete it (it is only a cache)" in str(refused.value)


def test_a_folder_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot be used \(Not a directory\); it is only a cache: give it a folder"):
        LogIndex(blocker / "index" / "31337-0xabc.sqlite")

"""The local event index refuses, in a sentence, a folder it cannot use, and begins anew over a damaged
file (it is a cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ConfigError
from ledger.services.sync import LogIndex


def test_a_damaged_index_is_put_aside_and_begun_anew(tmp_path: Path) -> None:
    """A cache whose file is no database (cut short, overwritten) holds nothing the chain does not: it
    is kept beside, for a look, and the index starts empty, to be read again from the chain."""
    path = tmp_path / "31337-0xabc.sqlite"
    damage = b"not a database at all, but long enough to be read as one" * 20
    path.write_bytes(damage)
    index = LogIndex(path)
    assert index.damaged == tmp_path / "31337-0xabc.sqlite.damaged"
    assert index.damaged.read_bytes() == damage
    assert index.db.execute("SELECT COUNT(*) FROM logs").fetchone() == (0,)
    index.db.close()
    assert LogIndex(path).damaged is None  # sound from then on


def test_a_folder_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot be used \(Not a directory\); it is only a cache: give it a folder"):
        LogIndex(blocker / "index" / "31337-0xabc.sqlite")


@pytest.mark.parametrize(
    ("data", "xdg", "where"),
    [
        ("/srv/ledger", "/xdg", "/srv/ledger/index"),
        ("", "/xdg", "/xdg/mkj-ledger/index"),
        ("", "relative/dir", "~/.local/share/mkj-ledger/index"),  # to be ignored: it depends on where one runs
        ("", "", "~/.local/share/mkj-ledger/index"),
    ],
)
def test_the_index_lives_in_ledger_data_else_an_absolute_xdg_data_home_else_the_home(
    monkeypatch: pytest.MonkeyPatch, data: str, xdg: str, where: str
) -> None:
    from ledger.services.sync import default_index_dir

    monkeypatch.setenv("LEDGER_DATA", data)
    monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert default_index_dir() == Path(where).expanduser()

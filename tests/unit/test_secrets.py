"""Where a secret (a keystore passphrase, a node user's password) comes from: its file, else its
environment variable, else a prompt on a terminal, else a sentence naming the three."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.errors import ConfigError
from ledger.keys import read_passphrase, read_secret


@pytest.fixture(autouse=True)
def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_PASSPHRASE", raising=False)
    monkeypatch.delenv("SECRET_FOR_TEST", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)


def test_the_file_comes_first_and_loses_only_its_last_line_break(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "secret"
    path.write_text("  spaced secret \r\n", encoding="utf-8")
    monkeypatch.setenv("SECRET_FOR_TEST", "from the environment")
    assert read_secret(path, env="SECRET_FOR_TEST", option="--secret-file", what="secret") == "  spaced secret "
    assert read_secret(None, env="SECRET_FOR_TEST", option="--secret-file", what="secret") == "from the environment"


def test_a_file_saved_with_a_byte_order_mark_gives_the_secret_without_it(tmp_path: Path) -> None:
    """Notepad on Windows saves UTF-8 with a byte-order mark: it is not part of the passphrase."""
    path = tmp_path / "passphrase.txt"
    path.write_bytes("\ufeffcorrect horse 马\r\n".encode())
    assert read_passphrase(path) == "correct horse 马"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no node password file at "),
        (b"\xff\xfe", "is not UTF-8 text; it is UTF-16 text"),
        (b"\r\n", "the node password file .* is empty"),
    ],
)
def test_a_file_that_cannot_be_read_is_said_so(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "password"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_secret(path, env="SECRET_FOR_TEST", option="--rpc-password-file", what="node password")


def test_without_file_variable_or_terminal_the_three_ways_are_named() -> None:
    with pytest.raises(
        ConfigError,
        match="a keystore passphrase is needed: set LEDGER_PASSPHRASE, pass --passphrase-file, or run on a terminal",
    ):
        read_passphrase(None)


def test_a_new_passphrase_typed_at_the_terminal_is_typed_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    typed = iter(["first passphrase", "other passphrase"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    with pytest.raises(ConfigError, match="the two passphrases differ"):
        read_passphrase(None, confirm=True)
    monkeypatch.setenv("LEDGER_PASSPHRASE", "from the environment")  # not typed: nothing to confirm
    assert read_passphrase(None, confirm=True) == "from the environment"


@pytest.mark.parametrize(
    ("content", "why"),
    [("garbage", "is not a readable keystore file"), ('{"address": 5}', "its address '0x5' is no account")],
)
def test_a_damaged_keystore_is_named_in_the_key_list_and_hides_no_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, why: str
) -> None:
    from ledger.cli import main
    from ledger.keys import create_keystore, keystore_address

    keys = tmp_path / "home" / "keys"
    good = create_keystore(keys / "alice.json", "a long passphrase").address
    (keys / "bob.json").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=why):
        keystore_address(keys / "bob.json")
    assert main(["key", "list", "--home", str(tmp_path / "home"), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["name"], k["address"] and k["address"].lower()) for k in listed] == [
        ("alice", good.lower()),
        ("bob", None),
    ]
    assert why in listed[1]["problem"]
    assert main(["key", "list", "--home", str(tmp_path / "home")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split(maxsplit=1) == ["bob", "(not a readable keystore file)"]

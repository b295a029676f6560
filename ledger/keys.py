"""Encrypted keystores (the Ethereum keystore format, scrypt): keys never leave them unencrypted."""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import ConfigError, InputError
from ledger.files import parse_json, read_text_file

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

#: scrypt work factor: 2**15 keeps a CLI call under a second while staying far from brute-forceable.
SCRYPT_N = 1 << 15
PASSPHRASE_ENV = "LEDGER_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)
RPC_PASSWORD_ENV = "LEDGER_RPC_PASSWORD"  # noqa: S105 (the variable's name, not a secret)


def read_secret(path: Path | None, *, env: str, option: str, what: str, confirm: bool = False) -> str:
    """A secret from a file (the line breaks that end it dropped, and the byte-order mark an editor on
    Windows may put before it), else the variable `env`, else a prompt on a terminal (typed twice when
    `confirm`); without any of them, a sentence naming all three ways."""
    if path is not None:
        try:
            secret = read_text_file(path, what).rstrip("\r\n")
        except InputError as exc:  # a secret is configuration: the command cannot run without it
            raise ConfigError(str(exc)) from None
        if not secret:  # as an empty variable is no secret either
            raise ConfigError(f"the {what} file {path} is empty")
        return secret
    if os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        raise ConfigError(f"a {what} is needed: set {env}, pass {option}, or run on a terminal")
    first = getpass.getpass(f"{what}: ")
    if confirm and getpass.getpass("again: ") != first:
        raise ConfigError(f"the two {what.rsplit(' ', 1)[-1]}s differ")  # passphrases, passwords
    return first


def read_passphrase(passphrase_file: Path | None, *, confirm: bool = False) -> str:
    """The keystore passphrase from a file, the LEDGER_PASSPHRASE variable, or a prompt on a terminal."""
    what = "keystore passphrase"
    return read_secret(passphrase_file, env=PASSPHRASE_ENV, option="--passphrase-file", what=what, confirm=confirm)


def create_keystore(path: Path, passphrase: str, *, overwrite: bool = False) -> LocalAccount:
    """Make a fresh key and write it encrypted to `path` (readable by its owner only)."""
    if path.exists() and not overwrite:
        raise ConfigError(f"a keystore already exists at {path}")
    if len(passphrase) < 8:
        raise ConfigError("the passphrase must have at least 8 characters")
    from eth_account import Account  # a second to import: only commands that make or open a key need it

    account: LocalAccount = Account.create()
    document = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=SCRYPT_N)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return account


def load_keystore(path: Path, passphrase: str) -> LocalAccount:
    """The account in the encrypted keystore at `path`, opened with `passphrase`."""
    from eth_account import Account

    try:
        document = parse_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no keystore at {path}; create one with `ledger key new`") from None
    except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON
        raise ConfigError(f"{path} is not a readable keystore file") from None
    try:
        key = Account.decrypt(document, passphrase)
    except ValueError:
        raise ConfigError(f"the passphrase does not open the keystore {path}") from None
    except (KeyError, TypeError):
        raise ConfigError(f"{path} is not a keystore file") from None
    account: LocalAccount = Account.from_key(key)
    return account


def keystore_address(path: Path) -> str:
    """The address a keystore holds, read without decrypting it."""
    try:
        document = parse_json(path.read_text(encoding="utf-8"))
        address = "0x" + str(document["address"]).removeprefix("0x")
    except (OSError, ValueError, KeyError, TypeError):  # unreadable, not UTF-8, not JSON, no address
        raise ConfigError(f"{path} is not a readable keystore file") from None
    if not _ADDRESS.fullmatch(address):
        raise ConfigError(f"{path} is not a readable keystore file: its address {address[:50]!r} is no account")
    return address


#: An account address as a keystore writes it (without the 0x, which is put back before this is matched).
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

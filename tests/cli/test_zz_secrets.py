"""No private key or passphrase is ever printed, and none is stored unencrypted.

Runs after the other CLI tests (file order) and checks everything their `ledger` processes printed,
plus a few commands of its own so that it means something when run alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account

from tests.cli.conftest import HOMES, OUTPUTS, PASSPHRASE, Run


def _workspace_secrets(homes: set[Path]) -> list[str]:
    secrets = []
    for home in homes:
        for keystore in (home / "keys").glob("*.json") if (home / "keys").exists() else []:
            key = bytes(Account.decrypt(json.loads(keystore.read_text()), PASSPHRASE)).hex()
            secrets += [key, "0x" + key]
    return secrets


def test_no_key_or_passphrase_in_any_output(ledger: Run, tmp_path: Path) -> None:
    assert ledger("key", "new", "alice").returncode == 0
    assert ledger("ca", "init").returncode == 0
    assert ledger("member", "list").returncode == 1  # no chain: an error message, still no secret
    secrets = _workspace_secrets(HOMES)
    assert secrets, "the test must have keys to look for"
    for output in OUTPUTS:
        for secret in secrets:
            assert secret not in output
        assert PASSPHRASE not in output


def test_no_key_stored_unencrypted(ledger: Run, tmp_path: Path) -> None:
    assert ledger("key", "new", "bob").returncode == 0
    secrets = _workspace_secrets(HOMES)
    for home in HOMES:
        for path in home.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert PASSPHRASE.encode() not in content, path
                for secret in secrets:
                    assert secret.encode() not in content, path

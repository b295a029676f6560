"""The accounts allowlist of a Besu permissions file: written new, or replaced in place with every
other entry of the file kept."""

from __future__ import annotations

import tomllib

import pytest

from ledger.errors import InputError
from ledger.services.allowlist import allowlist_text

A, B = "0x" + "aa" * 20, "0x" + "bb" * 20
NODES = 'nodes-allowlist=["enode://6f8a80d1@192.168.0.9:4567","enode://8c2a4f60@192.168.0.10:30303"]\n'


def test_a_new_file_admits_exactly_the_accounts() -> None:
    assert tomllib.loads(allowlist_text([A, B])) == {"accounts-allowlist": [A, B]}


def test_a_file_of_comments_only_gets_the_entry_below_them() -> None:
    assert tomllib.loads(allowlist_text([A], "# to be filled by the ledger\n")) == {"accounts-allowlist": [A]}


@pytest.mark.parametrize(
    "old_entry",
    [
        'accounts-allowlist=["0x' + "cc" * 20 + '"]\n',
        'accounts-allowlist = [\n  "0x' + "cc" * 20 + '",\n  "0x' + "dd" * 20 + '"\n]  # admitted\n',
        '"accounts-allowlist"=[]\n',
    ],
)
def test_the_node_allowlist_of_an_existing_file_is_kept(old_entry: str) -> None:
    """Besu keeps both allowlists in one file: an export of the accounts must not drop the nodes."""
    existing = "# network permissions\n" + old_entry + NODES
    text = allowlist_text([A], existing)
    assert tomllib.loads(text) == {
        "accounts-allowlist": [A],
        "nodes-allowlist": tomllib.loads(NODES)["nodes-allowlist"],
    }
    assert text.startswith("# network permissions\n") and text.endswith(NODES)


def test_a_file_without_an_accounts_entry_gets_one_at_its_end() -> None:
    text = allowlist_text([A], NODES.rstrip("\n"))
    assert text == NODES + f'accounts-allowlist=["{A}"]\n'


@pytest.mark.parametrize(
    ("existing", "problem"),
    [
        ("accounts-allowlist=[\n", "is not a TOML file"),
        ("[permissions]\naccounts-allowlist=[]\n", "not written as Besu writes it"),
        ("accounts-allowlist=[]\naccounts-allowlist=[]\n", "is not a TOML file"),
        ("accounts-allowlist=" + "[" * 5_000 + "]" * 5_000 + "\n", "is not a TOML file"),
        ('[project]\nname = "mkj-ledger"\n', "neither accounts-allowlist nor nodes-allowlist"),
        ("permissions-nodes-contract-enabled = true\n", "neither accounts-allowlist nor nodes-allowlist"),
    ],
)
def test_a_file_that_cannot_be_updated_in_place_is_refused(existing: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        allowlist_text([A], existing, source="permissions.toml")

"""The accounts allowlist of a Hyperledger Besu permissions file: which accounts it admits, and the
file's text.

Besu reads one file for both of its local allowlists (`accounts-allowlist` and `nodes-allowlist`,
`--permissions-accounts-config-file`). The ledger owns only the first: written into an existing
file, the export replaces that one entry and keeps every other line as it was, so that a network's
node allowlist is never lost to an export of its accounts.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ledger.errors import InputError
from ledger.files import parser_recursion_limit

if TYPE_CHECKING:
    from ledger.services.client import LedgerClient

KEY = "accounts-allowlist"
#: The other allowlist of the same file: its presence (or this file's own key) marks a permissions file.
NODES_KEY = "nodes-allowlist"
HEADER = "# Besu permissions: the accounts the ledger admits (active members, operators, regulator)\n"

# The entry as Besu's files write it: the key (bare or quoted), then one array of quoted strings,
# on one line or several.
_ENTRY = re.compile(r'^[ \t]*("?)accounts-allowlist\1[ \t]*=[ \t]*\[[^\]]*\][ \t]*(#[^\n]*)?\n?', re.MULTILINE)


def admitted_accounts(client: LedgerClient, *, regulator: str, operators: Iterable[str]) -> list[str]:
    """The accounts the network must admit, lower-case hex and sorted: the regulator, every active
    member, and `operators` (those in office: `Workspace.operators`)."""
    from ledger.domain.types import MemberStatus

    accounts = {regulator, *operators} | {m.address for m in client.members() if m.status is MemberStatus.ACTIVE}
    return sorted(a.lower() for a in accounts)


def allowlist_text(accounts: list[str], existing: str | None = None, *, source: str = "the file") -> str:
    """The permissions file admitting exactly `accounts` (lower-case hex): a new file, or `existing`
    (read from `source`, which refusals name) with its accounts entry replaced, or added at the end
    when it has none, and all else kept. A file with settings of another kind (a project's TOML
    named by mistake) is refused rather than given an accounts entry."""
    entry = f"{KEY}=[" + ",".join(f'"{a}"' for a in accounts) + "]\n"
    if existing is None or not existing.strip():
        return HEADER + entry
    misshapen = f"the {KEY} entry of {source} is not written as Besu writes it (one array of quoted addresses)"
    before = _parse(existing, f"{source} is not a TOML file, so it cannot be a Besu permissions file")
    found = _ENTRY.search(existing)  # at most one: TOML refuses a key given twice, and `before` parsed
    if before and not found and NODES_KEY not in before:
        raise InputError(
            f"{source} has settings but neither {KEY} nor {NODES_KEY}, so it is not a Besu permissions file;"
            " it is left as it was (name a new file, or the network's permissions file)"
        )
    if found:
        text = existing[: found.start()] + entry + existing[found.end() :]
    else:
        text = existing + ("" if existing.endswith("\n") else "\n") + entry
    after = _parse(text, misshapen)
    kept = {k: v for k, v in before.items() if k != KEY} == {k: v for k, v in after.items() if k != KEY}
    if not kept or after.get(KEY) != accounts:
        raise InputError(misshapen)
    return text


def _parse(text: str, problem: str) -> dict[str, object]:
    try:
        with parser_recursion_limit():
            return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        raise InputError(problem) from None

"""Configuration: one typed object, built at the CLI edge and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import InputError

DEFAULT_PORT = 8545
#: EIP-7825: the most gas one transaction may use.
TX_GAS_CAP = 16_777_216


@dataclass(frozen=True)
class Config:
    """Where the ledger keeps its local files and which chain it talks to.

    ``home`` holds the deployment record, the local node's state and the keystores.
    """

    home: Path
    rpc: str | None = None
    keystore: Path | None = None
    passphrase_file: Path | None = None
    json: bool = False
    index_dir: Path | None = None
    rpc_ca: Path | None = None  # the certificate authority of an https node on a private network
    # LEDGER_RPC_CA: the same, set once for a shell, and used only for https nodes (a local http node
    # reached from that shell needs none), where --rpc-ca names an authority that must apply
    rpc_ca_env: Path | None = None
    rpc_token_file: Path | None = None  # the bearer token a node's JSON-RPC requires
    rpc_user: str | None = None  # or the user who logs in to it, with a password
    # LEDGER_RPC_USER: the same, set once for a shell, and not used for this workspace's own local node
    # (anvil takes no login), where --rpc-user names a user that must log in
    rpc_user_env: str | None = None
    rpc_password_file: Path | None = None  # (else LEDGER_RPC_PASSWORD, else a prompt on a terminal)

    @property
    def deployment_path(self) -> Path:
        return self.home / "deployment.json"

    @property
    def node_dir(self) -> Path:
        return self.home / "node"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def names_path(self) -> Path:
        return self.home / "names.json"

    def key_path(self, name: str) -> Path:
        return self.keys_dir / f"{file_name(name)}.json"


def file_name(name: str) -> str:
    """A workspace name (of a key, a member, a certificate) that is safe as a file name: letters (any
    script), digits, "-", "_" and "." but not first, at most 64 characters; Latin letters, digits and
    signs half-width, as every command reads a name."""
    from ledger.domain.typed import full_width_note

    note = full_width_note(name)
    if note is not None:  # every command reads names half-width: `ｉｍｕ` could never be named again
        raise InputError(f"{name!r} cannot name a key or member here: it {note}")
    allowed = all(c.isalnum() or c in "-_." for c in name)
    if not name or len(name) > 64 or not allowed or name.startswith(("-", ".")):
        raise InputError(
            f"{name!r} cannot name a key or member here: use up to 64 letters, digits, '-', '_' or '.' (not first)"
        )
    if _reads_as_address(name):  # commands take a name or an address: this one would mean the address
        raise InputError(f"{name!r} cannot name a key or member here: it reads as an account address")
    return name


def default_home() -> Path:
    """$LEDGER_HOME, else `.ledger` where the command runs (set but empty counts as unset, as for
    every variable the ledger reads)."""
    return Path(os.environ.get("LEDGER_HOME") or ".ledger")


def env_path(name: str) -> Path | None:
    """A file named by an environment variable (unset or empty: none), so that options every command
    against one node needs (LEDGER_RPC_CA, LEDGER_RPC_TOKEN_FILE) are given once per shell."""
    value = os.environ.get(name, "")
    return Path(value) if value else None


def _reads_as_address(name: str) -> bool:
    """40 hexadecimal digits, with or without "0x": what `Workspace.resolve` would take for an address."""
    digits = name[2:] if name[:2].lower() == "0x" else name
    return len(digits) == 40 and all(c in "0123456789abcdefABCDEF" for c in digits)

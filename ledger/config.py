"""Configuration: one typed object, built at the CLI edge and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
        return self.keys_dir / f"{name}.json"


def default_home() -> Path:
    return Path(os.environ.get("LEDGER_HOME", ".ledger"))

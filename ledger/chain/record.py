"""The deployment record that `ledger deploy` writes and later commands read: a module of its own, free of
web3, so that a command that only needs the record (`ledger node status`, which reads its port) starts
in a tenth of the time."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ledger.chain.artifacts import DEPLOYED_CONTRACTS
from ledger.errors import ConfigError
from ledger.files import parse_json

RECORD_VERSION = 1


@dataclass(frozen=True)
class DeploymentRecord:
    """What `ledger deploy` leaves for later commands: the chain, the contracts' addresses and artifact
    hashes, the first block, the regulator, and the node it was made on."""

    chain_id: int
    addresses: dict[str, str]
    artifact_hashes: dict[str, str]
    block: int
    regulator: str
    rpc: str | None = None
    version: int = RECORD_VERSION

    def built_otherwise(self) -> list[str]:
        """The deployed contracts whose code was built from other sources than this package's artifacts
        (a deployment made by another version of the ledger), in deployment order."""
        from ledger.chain.artifacts import artifact

        return [name for name in DEPLOYED_CONTRACTS if self.artifact_hashes.get(name) != artifact(name).code_hash]

    def save(self, path: Path, *, overwrite: bool = False) -> None:
        if path.exists() and not overwrite:
            raise ConfigError(f"a deployment record already exists at {path}; pass --force to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DeploymentRecord:
        """The record saved at `path`, its addresses in checksum form; a missing, unreadable or hand-broken
        one is refused in a sentence saying what to do."""
        try:
            data: Any = parse_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no deployment record at {path}; run `ledger deploy` first") from None
        except NotADirectoryError:  # the workspace named is a file
            raise ConfigError(f"the workspace {path.parent} is a file, not a folder") from None
        except OSError as exc:
            raise ConfigError(f"the deployment record {path} is unreadable: {exc.strerror or exc}") from None
        except ValueError as exc:  # not UTF-8, not JSON
            raise ConfigError(f"the deployment record {path} is unreadable: {exc}") from None
        try:
            record = cls(**data)
        except TypeError:
            raise ConfigError(f"the deployment record {path} is not one this version writes") from None
        wrong = record.malformed_fields()
        if wrong:
            raise ConfigError(
                f"the deployment record {path} has a malformed {', '.join(wrong)} (edited by hand?): "
                "correct it, or deploy anew with `ledger deploy --force`"
            )
        # An address edited by hand in lower case is the same address: web3 takes only its checksum form.
        from eth_utils.address import to_checksum_address

        return replace(
            record,
            addresses={name: to_checksum_address(a) for name, a in record.addresses.items()},
            regulator=to_checksum_address(record.regulator),
        )

    def malformed_fields(self) -> list[str]:
        """The fields whose value is not of the shape `ledger deploy` writes."""
        from ledger.chain.encoding import is_account

        def whole(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0

        def names_to(check: Any, value: Any) -> bool:
            return isinstance(value, dict) and all(isinstance(k, str) and check(v) for k, v in value.items())

        shapes = {
            "chain_id": whole(self.chain_id),
            "addresses": names_to(is_account, self.addresses) and set(DEPLOYED_CONTRACTS) <= set(self.addresses),
            "artifact_hashes": names_to(lambda v: isinstance(v, str), self.artifact_hashes),
            "block": whole(self.block),
            "regulator": is_account(self.regulator),
            "rpc": self.rpc is None or isinstance(self.rpc, str),
            "version": self.version == RECORD_VERSION,
        }
        return [name for name, right in shapes.items() if not right]

"""Deploy and wire the ledger's contracts, and the deployment record that later commands read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from ledger.chain.artifacts import DEPLOYED_CONTRACTS, artifact
from ledger.chain.session import ChainSession, RequestRefused
from ledger.errors import ConfigError
from ledger.files import parse_json

RECORD_VERSION = 1

#: The init code of a creation whose gas is only estimated: PUSH0 PUSH0 PUSH0 MCOPY STOP. It runs on an
#: EVM with Shanghai's PUSH0 and Cancun's MCOPY, which the contracts (compiled for `cancun`) use (MCOPY
#: where Points returns its name and symbol); an older EVM refuses it.
CANCUN_PROBE = "0x5f5f5f5e00"


@dataclass(frozen=True)
class DeploymentRecord:
    chain_id: int
    addresses: dict[str, str]
    artifact_hashes: dict[str, str]
    block: int
    regulator: str
    rpc: str | None = None
    version: int = RECORD_VERSION

    def save(self, path: Path, *, overwrite: bool = False) -> None:
        if path.exists() and not overwrite:
            raise ConfigError(f"a deployment record already exists at {path}; pass --force to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DeploymentRecord:
        try:
            data: Any = parse_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no deployment record at {path}; run `ledger deploy` first") from None
        except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not JSON
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
        return record

    def malformed_fields(self) -> list[str]:
        """The fields whose value is not of the shape `ledger deploy` writes."""
        from eth_utils.address import is_address

        def whole(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0

        def names_to(check: Any, value: Any) -> bool:
            return isinstance(value, dict) and all(isinstance(k, str) and check(v) for k, v in value.items())

        shapes = {
            "chain_id": whole(self.chain_id),
            "addresses": names_to(is_address, self.addresses) and set(DEPLOYED_CONTRACTS) <= set(self.addresses),
            "artifact_hashes": names_to(lambda v: isinstance(v, str), self.artifact_hashes),
            "block": whole(self.block),
            "regulator": is_address(self.regulator),
            "rpc": self.rpc is None or isinstance(self.rpc, str),
            "version": self.version == RECORD_VERSION,
        }
        return [name for name, right in shapes.items() if not right]


@dataclass(frozen=True)
class Contracts:
    """The deployed contracts, bound to a session."""

    membership: Contract
    policy: Contract
    registry: Contract
    points: Contract
    ledger: Contract

    @property
    def all(self) -> dict[str, Contract]:
        return {
            "Membership": self.membership,
            "PolicyRegistry": self.policy,
            "ContractRegistry": self.registry,
            "Points": self.points,
            "SettlementLedger": self.ledger,
        }


def deploy_all(session: ChainSession, regulator: LocalAccount) -> tuple[DeploymentRecord, Contracts]:
    """Deploy every contract with `regulator` as admin and wire them together."""
    if session.kind != "embedded":  # py-evm runs Cancun
        check_evm(session, regulator.address)
    start_block = session.head()
    membership, _ = session.deploy(regulator, artifact("Membership"), regulator.address)
    policy, _ = session.deploy(regulator, artifact("PolicyRegistry"), membership)
    registry, _ = session.deploy(regulator, artifact("ContractRegistry"), membership)
    points, _ = session.deploy(regulator, artifact("Points"), membership)
    ledger, _ = session.deploy(regulator, artifact("SettlementLedger"), membership, registry, policy, points)
    addresses = {
        "Membership": membership,
        "PolicyRegistry": policy,
        "ContractRegistry": registry,
        "Points": points,
        "SettlementLedger": ledger,
    }
    contracts = bind(session, addresses)
    session.transact(regulator, contracts.policy.functions.wireRecordClock(ledger))
    session.transact(regulator, contracts.registry.functions.wireLedger(ledger))
    session.transact(regulator, contracts.points.functions.wireIssuer(ledger))
    record = DeploymentRecord(
        chain_id=session.chain_id,
        addresses=addresses,
        artifact_hashes={name: artifact(name).code_hash for name in DEPLOYED_CONTRACTS},
        block=start_block + 1,
        regulator=regulator.address,
        rpc=session.url,
    )
    return record, contracts


def check_evm(session: ChainSession, deployer: str) -> None:
    """Refuse, before anything is deployed, a chain whose EVM cannot run the contracts: a private network
    whose genesis enables no fork after London, or none after Shanghai (where all but the points
    contract's name and symbol would deploy and run)."""
    try:  # a lost connection raises as itself: only the node's own refusal tells of its EVM
        session.rpc("eth_estimateGas", [{"from": deployer, "data": CANCUN_PROBE}])
    except RequestRefused as refusal:
        raise ConfigError(
            "this chain's EVM cannot run the contracts, compiled for Cancun (Shanghai's PUSH0, Cancun's "
            f"MCOPY): it refused even {CANCUN_PROBE} ({refusal}); enable both forks in the network's "
            "genesis file (on Besu, shanghaiTime and cancunTime; docs/production.md)"
        ) from None


def bind(session: ChainSession, addresses: dict[str, str]) -> Contracts:
    for name in DEPLOYED_CONTRACTS:
        if name not in addresses:
            raise ConfigError(f"the deployment record has no address for {name}")
    return Contracts(
        membership=session.contract(addresses["Membership"], artifact("Membership")),
        policy=session.contract(addresses["PolicyRegistry"], artifact("PolicyRegistry")),
        registry=session.contract(addresses["ContractRegistry"], artifact("ContractRegistry")),
        points=session.contract(addresses["Points"], artifact("Points")),
        ledger=session.contract(addresses["SettlementLedger"], artifact("SettlementLedger")),
    )


def bind_record(session: ChainSession, record: DeploymentRecord) -> Contracts:
    """Bind a saved deployment, checking that it is on this chain and that its code is there."""
    if record.chain_id != session.chain_id:
        raise ConfigError(
            f"the deployment record is for chain {record.chain_id}, but the node is chain {session.chain_id}"
        )
    for name, address in record.addresses.items():
        if not session.code_at(address):
            raise ConfigError(f"no {name} contract at {address}: the chain was reset or this is another chain")
    return bind(session, record.addresses)

"""Deploy and wire the ledger's contracts, and the deployment record that later commands read."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from ledger.chain.artifacts import DEPLOYED_CONTRACTS, artifact, runtime_digest
from ledger.chain.record import DeploymentRecord
from ledger.chain.session import ChainSession, RequestRefused
from ledger.errors import ConfigError

#: The init code of a creation whose gas is only estimated: PUSH0 PUSH0 PUSH0 MCOPY STOP. It runs on an
#: EVM with Shanghai's PUSH0 and Cancun's MCOPY, which the contracts (compiled for `cancun`) use (MCOPY
#: where Points returns its name and symbol); an older EVM refuses it.
CANCUN_PROBE = "0x5f5f5f5e00"


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
    wiring = [
        contracts.policy.functions.wireRecordClock(ledger),
        contracts.registry.functions.wireLedger(ledger),
        contracts.points.functions.wireIssuer(ledger),
    ]
    session.transact_all(regulator, wiring)
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
    """The deployed contracts at `addresses` (name -> address), ready to call."""
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
            raise ConfigError(
                f"no {name} contract at {address}: the chain was reset or this is another chain (on a chain "
                "started afresh, `ledger deploy --force` deploys anew and replaces the deployment record)"
            )
    return bind(session, record.addresses)


def code_built_otherwise(session: ChainSession, addresses: dict[str, str]) -> list[str]:
    """The deployed contracts whose code on chain is not what this package's sources compile to (the
    immutables their constructors wrote aside), in deployment order."""
    differing = []
    for name in DEPLOYED_CONTRACTS:
        built = artifact(name)
        if runtime_digest(session.code_at(addresses[name]), built.immutables) != built.runtime_sha256:
            differing.append(name)
    return differing

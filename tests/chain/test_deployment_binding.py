"""A saved deployment is bound to a chain only where it is: on the chain it names, its code at every
address. A node restarted without its state, or another chain, is named as such before anything is
read or sent."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address

from ledger.chain.deploy import bind, bind_record, code_built_otherwise, deploy_all
from ledger.chain.record import DeploymentRecord
from ledger.chain.session import ChainSession
from ledger.config import Config
from ledger.errors import ConfigError
from ledger.services.workspace import Workspace


@pytest.fixture(scope="module")
def deployed() -> tuple[ChainSession, DeploymentRecord]:
    session = ChainSession.embedded()
    record, _ = deploy_all(session, session.new_account("regulator"))
    return session, record


def test_a_record_binds_on_its_own_chain(deployed: tuple[ChainSession, DeploymentRecord]) -> None:
    session, record = deployed
    contracts = bind_record(session, record)
    assert contracts.points.address == record.addresses["Points"]
    assert contracts.ledger.address == record.addresses["SettlementLedger"]


def test_a_record_of_another_chain_is_refused(deployed: tuple[ChainSession, DeploymentRecord]) -> None:
    session, record = deployed
    with pytest.raises(ConfigError) as refused:
        bind_record(session, replace(record, chain_id=record.chain_id + 1))
    assert str(refused.value) == (
        f"the deployment record is for chain {record.chain_id + 1}, but the node is chain {session.chain_id}"
    )


def test_an_address_without_code_says_the_chain_was_reset(deployed: tuple[ChainSession, DeploymentRecord]) -> None:
    session, record = deployed
    empty = to_checksum_address("0x" + "5a" * 20)
    with pytest.raises(ConfigError) as refused:
        bind_record(session, replace(record, addresses={**record.addresses, "Points": empty}))
    assert str(refused.value) == (
        f"no Points contract at {empty}: the chain was reset or this is another chain (on a chain started afresh, "
        "`ledger deploy --force` deploys anew and replaces the deployment record)"
    )


def test_an_address_missing_from_the_record_is_named(deployed: tuple[ChainSession, DeploymentRecord]) -> None:
    session, record = deployed
    addresses = {name: address for name, address in record.addresses.items() if name != "Points"}
    with pytest.raises(ConfigError, match="^the deployment record has no address for Points$"):
        bind(session, addresses)


def test_a_deployment_built_from_other_sources_is_named_by_its_contracts(
    deployed: tuple[ChainSession, DeploymentRecord], tmp_path: Path
) -> None:
    """A deployment made by another version of the ledger still binds (its chain keeps its rules), and the
    contracts whose code differs from this package's are named, with a warning to the person."""
    session, record = deployed
    assert record.built_otherwise() == []
    older = replace(record, artifact_hashes={**record.artifact_hashes, "SettlementLedger": "00" * 32})
    assert older.built_otherwise() == ["SettlementLedger"]
    older.save(tmp_path / "deployment.json")
    warnings: list[str] = []
    ws = Workspace(Config(home=tmp_path), warn=warnings.append)
    ws._session = session  # the embedded chain the record was deployed on
    assert ws.client.contracts.ledger.address == record.addresses["SettlementLedger"]
    assert warnings == [
        "the deployment's SettlementLedger was built from other sources than this version of the ledger "
        "carries: the chain accepts and refuses as it was deployed to (`ledger deploy --force` deploys this "
        "version's contracts anew)"
    ]


def test_deployed_code_is_what_the_sources_compile_to_whatever_the_constructors_were_given(
    deployed: tuple[ChainSession, DeploymentRecord],
) -> None:
    """SettlementLedger and the registries keep the addresses they were deployed with as immutables,
    written into their code: those places aside, every deployment's code is the artifact's."""
    from ledger.chain.artifacts import artifact

    session, record = deployed
    assert artifact("SettlementLedger").immutables, "the check must mean something for code with immutables"
    assert code_built_otherwise(session, record.addresses) == []
    elsewhere, _ = deploy_all(session, session.new_account("another regulator"))  # other constructor arguments
    assert code_built_otherwise(session, elsewhere.addresses) == []
    swapped = {**record.addresses, "Points": record.addresses["Membership"]}  # code, but another contract's
    assert code_built_otherwise(session, swapped) == ["Points"]


def test_a_contracts_code_is_read_once_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Binding a deployment and checking its code (`ledger verify`) read each contract's code once; an
    address without code is asked again (a contract may be deployed there since), and a return to a
    snapshot forgets what was read after it."""
    session = ChainSession.embedded()
    get_code, read = session.w3.eth.get_code, []
    monkeypatch.setattr(session.w3.eth, "get_code", lambda address: read.append(address) or get_code(address))
    snapshot = session.snapshot()
    record, _ = deploy_all(session, session.new_account("regulator"))
    bind_record(session, record)
    assert code_built_otherwise(session, record.addresses) == []
    assert sorted(read) == sorted(record.addresses.values())
    empty = to_checksum_address("0x" + "5a" * 20)
    assert session.code_at(empty) == session.code_at(empty) == b"" and read[-2:] == [empty, empty]
    session.revert(snapshot)
    assert session.code_at(record.addresses["Points"]) == b""  # deployed after the snapshot: gone


def test_a_runtime_digest_blanks_the_immutables_only() -> None:
    from ledger.chain.artifacts import runtime_digest

    assert runtime_digest(b"\x01\x02\x03\x04", [(1, 2)]) == runtime_digest(b"\x01\xff\xee\x04", [(1, 2)])
    assert runtime_digest(b"\x01\x02\x03\x04", [(1, 2)]) != runtime_digest(b"\x09\x02\x03\x04", [(1, 2)])
    assert runtime_digest(b"\x01\x02", [(1, 4)]) == runtime_digest(b"\x01\x00", [])  # a range past the end: cut

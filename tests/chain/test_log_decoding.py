"""The fast log decoder against web3's own: every event of a full demo run, in both reply forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes

from ledger.chain.encoding import text_id
from ledger.chain.logs import account_topic, checksum, decode_log, event_topic
from ledger.chain.session import ChainSession
from ledger.domain.scenario import load_scenario
from ledger.services.runner import ScenarioRunner
from tests.chain.conftest import World

DEMO = Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json"


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytes) else value


def _as_json_rpc(log: Any) -> dict[str, Any]:
    """The same log as a node's JSON-RPC reply spells it (hex strings)."""
    return {
        "address": log["address"].lower(),
        "topics": ["0x" + bytes(t).hex() for t in log["topics"]],
        "data": "0x" + bytes(log["data"]).hex(),
        "blockNumber": hex(log["blockNumber"]),
        "transactionHash": "0x" + bytes(log["transactionHash"]).hex(),
        "logIndex": hex(log["logIndex"]),
    }


def _as_importer_reads(receipt: Any) -> dict[str, Any]:
    """eth-tester's receipt in the form of `ChainSession.receipts_fast`."""
    return {
        "status": receipt["status"],
        "blockNumber": receipt["blockNumber"],
        "gasUsed": receipt["gasUsed"],
        "logs": [{"topics": [bytes(t) for t in log["topics"]], "data": bytes(log["data"])} for log in receipt["logs"]],
    }


@pytest.fixture(scope="module")
def demo_run() -> ScenarioRunner:
    runner = ScenarioRunner(ChainSession.embedded(), load_scenario(DEMO))
    runner.run()
    return runner


def test_every_event_of_a_demo_run_decodes_as_web3_decodes_it(demo_run: ScenarioRunner) -> None:
    runner, session = demo_run, demo_run.client.session
    contracts = runner.client.contracts.all
    names = {checksum(address): name for name, address in runner.client.addresses.items()}
    logs = session.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": list(names)})
    seen = set()
    for log in logs:
        ours = decode_log(dict(log), names)
        assert ours is not None
        theirs = contracts[ours.contract].events[ours.name]().process_log(log)
        assert ours.args == {key: _plain(value) for key, value in theirs["args"].items()}
        assert (ours.block, ours.log_index) == (theirs["blockNumber"], theirs["logIndex"])
        assert ours.tx_hash == "0x" + bytes(theirs["transactionHash"]).hex()
        assert decode_log(_as_json_rpc(log), names) == ours
        seen.add(ours.name)
    # the demo shows every rule, a replay and a redemption: most of the ledger's events occur
    assert {"SettlementRecorded", "SettlementReplayed", "PointsIssued", "PointsRedeemed"} <= seen
    assert len(seen) >= 12, seen


@pytest.mark.parametrize("filtered", [False, True], ids=["every-log", "a-members-points"])
def test_embedded_logs_are_eth_testers_read_block_by_block(demo_run: ScenarioRunner, filtered: bool) -> None:
    """The embedded chain's `eth_getLogs` reads receipts block by block instead of eth-tester's lookups by
    transaction hash (quadratic in the chain's length): the same logs, in the same order."""
    session = demo_run.client.session
    names = {checksum(address): name for name, address in demo_run.client.addresses.items()}
    head = session.head()
    params: dict[str, Any] = {"fromBlock": hex(1), "toBlock": hex(head), "address": list(names)}
    if filtered:  # as `ledger points history` asks: either event, one member
        steel = demo_run.keys["steel"].address
        params["topics"] = [[event_topic("PointsIssued"), event_topic("PointsRedeemed")], account_topic(steel)]
    ours = [decode_log(log, names) for log in session.embedded_logs(params)]
    theirs = [
        decode_log(dict(log), names) for log in session.w3.eth.get_logs({**params, "fromBlock": 1, "toBlock": head})
    ]
    assert ours == theirs
    if filtered:  # the licensee's award and its redemption
        assert [e.name for e in ours if e is not None] == ["PointsIssued", "PointsIssued", "PointsRedeemed"]
    else:
        assert len(ours) > 50
    assert session.embedded_logs({**params, "fromBlock": hex(head + 1), "toBlock": hex(head)}) == []


def test_embedded_log_indexes_count_through_a_block_of_several_transactions(world: World) -> None:
    """The embedded chain mines a block per transaction; held, it mines several into one block, and their
    log indexes then count through the block, as a node's do, each log under its own transaction.
    (eth-tester re-validates held transactions as unsigned ones, so these come from its own accounts,
    appointed operators first.)"""
    session, registry, tester = world.session, world.client.contracts.registry, world.session.tester
    senders = tester.get_accounts()[:3]
    for account in senders:
        world.client.appoint_operator(world.regulator, account)
    tester.disable_auto_mine_transactions()
    try:
        hashes = [
            tester.send_transaction(
                {
                    "from": account,
                    "to": registry.address,
                    "gas": 500_000,
                    "data": registry.encode_abi(
                        "registerInstrument", args=[text_id(f"SEM-{n}"), world.lab.address, 150_000_000 + n]
                    ),
                }
            )
            for n, account in enumerate(senders)
        ]
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    receipts = [session.w3.eth.get_transaction_receipt(HexBytes(h)) for h in hashes]
    (block,) = {r["blockNumber"] for r in receipts}
    assert all(r["status"] == 1 for r in receipts)
    # the importer's receipts, read from py-evm's index: each transaction's own gas, not the block's running total
    assert session.receipts_fast([bytes(HexBytes(h)) for h in hashes]) == [_as_importer_reads(r) for r in receipts]
    assert len({r["gasUsed"] for r in receipts}) == 1
    names = {checksum(address): name for name, address in world.client.addresses.items()}
    logs = session.embedded_logs({"fromBlock": hex(block), "toBlock": hex(block), "address": list(names)})
    per_tx = [len(r["logs"]) for r in receipts]
    assert min(per_tx) >= 1
    assert [log["logIndex"] for log in logs] == list(range(sum(per_tx)))
    owners = [bytes(HexBytes(h)) for h, count in zip(hashes, per_tx, strict=True) for _ in range(count)]
    assert [bytes(log["transactionHash"]) for log in logs] == owners
    events = [decode_log(log, names) for log in logs]
    registered = [e.args["originalValue"] for e in events if e is not None and e.name == "InstrumentRegistered"]
    assert registered == [150_000_000, 150_000_001, 150_000_002]


def test_embedded_receipts_are_eth_testers(demo_run: ScenarioRunner) -> None:
    """Every transaction of a demo run, and one that failed: the receipts the importer reads from py-evm's
    index are eth-tester's; a hash never mined has none."""
    session = demo_run.client.session
    hashes = [
        bytes(tx)
        for number in range(1, session.head() + 1)
        for tx in session.w3.eth.get_block(number)["transactions"]  # type: ignore[union-attr]
    ]
    points = demo_run.client.contracts.points
    steel = demo_run.keys["steel"]
    data = points.encode_abi("transfer", args=[steel.address, 1])  # points never move
    failed = session.prepare(steel, to=points.address, data=bytes(HexBytes(data)), gas=100_000)
    session.submit(failed)
    hashes.append(failed.tx_hash)
    theirs = [_as_importer_reads(session.w3.eth.get_transaction_receipt(HexBytes(h))) for h in hashes]
    assert session.receipts_fast(hashes) == theirs
    assert theirs[-1]["status"] == 0 and all(r["status"] == 1 for r in theirs[:-1])
    assert sum(len(r["logs"]) for r in theirs) > 50
    assert session.receipts_fast([b"\1" * 32]) == [None]

"""The fast log decoder against web3's own: every event of a full demo run, in both reply forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.chain.logs import checksum, decode_log
from ledger.chain.session import ChainSession
from ledger.domain.scenario import load_scenario
from ledger.services.runner import ScenarioRunner

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


def test_every_event_of_a_demo_run_decodes_as_web3_decodes_it() -> None:
    session = ChainSession.embedded()
    runner = ScenarioRunner(session, load_scenario(DEMO))
    runner.run()
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

"""The gas price a session offers follows the chain's base fee; it does not feed on its own tips."""

from __future__ import annotations

from pathlib import Path

from ledger.chain.deploy import bind, deploy_all
from ledger.chain.session import ChainSession
from ledger.domain.types import MemberKind
from ledger.node import LocalNode
from ledger.services.client import LedgerClient
from tests.nodes import free_port, needs_anvil

pytestmark = needs_anvil


def test_the_price_offered_does_not_climb_from_one_command_to_the_next(tmp_path: Path) -> None:
    """Each `ledger` command is a new session that asks the node for a price. A price above what the
    node suggests becomes a tip that raises the node's next suggestion: offered at twice the
    suggestion, the price doubled with every command until the keys could no longer pay for gas."""
    node = LocalNode(tmp_path / "node", port=free_port())
    node.start()
    try:
        session = ChainSession.connect(node.url)
        regulator = session.new_account("regulator")
        record, _ = deploy_all(session, regulator)
        offered = []
        for i in range(12):
            session = ChainSession.connect(node.url)  # a new command
            offered.append(session.gas_price())
            account = session.new_account(f"member-{i}")
            LedgerClient(session, bind(session, record.addresses)).enrol(
                regulator, account=account.address, kind=MemberKind.INDIVIDUAL, in_region=True, uscc=None
            )
        assert max(offered) <= 2 * offered[0], offered
    finally:
        node.stop()

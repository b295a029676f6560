"""A node that takes fewer requests in one batch, or logs of fewer blocks in one request, than the client
asks for still gives it everything."""

from __future__ import annotations

from pathlib import Path

from ledger.chain.deploy import deploy_all
from ledger.chain.logs import iter_logs
from ledger.chain.session import ChainSession
from ledger.domain.types import MemberKind
from ledger.node import LocalNode
from ledger.services.client import LedgerClient
from tests.faults.proxy import LossyProxy
from tests.nodes import free_port, needs_anvil

pytestmark = needs_anvil


def test_a_batch_the_node_refuses_whole_is_sent_again_in_halves(tmp_path: Path) -> None:
    """Statements ask for up to 1,000 block times in one batch; Besu takes 1,024 by default, and an
    operator may set fewer (`--rpc-http-max-batch-size`)."""
    node = LocalNode(tmp_path / "node", port=free_port(), persist=False)
    node.start()
    try:
        direct = ChainSession.connect(node.url)
        direct.rpc("anvil_mine", [hex(300), hex(7)])  # 300 blocks, 7 s apart
        with LossyProxy(node.url, drop={}, max_batch=16) as proxy:
            limited = ChainSession.connect(proxy.url)
            times = limited.block_times(range(1, 301))
            assert proxy.refused["batch"] >= 1
        assert times == direct.block_times(range(1, 301))
        assert [times[n + 1] - times[n] for n in range(1, 300)] == [7] * 299
    finally:
        node.stop()


def test_a_log_range_the_node_refuses_is_asked_for_again_in_halves(tmp_path: Path) -> None:
    """A node may limit the blocks of one `eth_getLogs` below the 2,048 the client asks for at most
    (Besu's `--rpc-max-logs-range`), or the logs of one answer: the history still arrives whole."""
    node = LocalNode(tmp_path / "node", port=free_port(), persist=False)
    node.start()
    try:
        direct = ChainSession.connect(node.url)
        regulator = direct.new_account("regulator")
        record, contracts = deploy_all(direct, regulator)
        client = LedgerClient(direct, contracts)
        for i in range(30):  # a block each, between quiet stretches
            account = direct.new_account(f"member-{i}")
            client.enrol(regulator, account=account.address, kind=MemberKind.INDIVIDUAL, in_region=True, uscc=None)
            direct.rpc("anvil_mine", [hex(i % 5)])
        with LossyProxy(node.url, drop={}, max_log_range=6) as proxy:
            limited = ChainSession.connect(proxy.url)
            read = list(iter_logs(limited, record.addresses, from_block=record.block))
            assert proxy.refused["log range"] >= 1
        assert read == list(iter_logs(direct, record.addresses, from_block=record.block))
        assert sum(e.name == "MemberEnrolled" for e in read) == 30
    finally:
        node.stop()

"""A node that takes fewer requests in one batch than the client sends still answers them all."""

from __future__ import annotations

from pathlib import Path

from ledger.chain.session import ChainSession
from ledger.node import LocalNode
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
            assert proxy.batches_refused >= 1
        assert times == direct.block_times(range(1, 301))
        assert [times[n + 1] - times[n] for n in range(1, 300)] == [7] * 299
    finally:
        node.stop()

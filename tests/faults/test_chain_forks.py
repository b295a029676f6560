"""A chain whose EVM predates Cancun is refused before anything is deployed on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.chain.deploy import deploy_all
from ledger.chain.session import ChainSession
from ledger.errors import ConfigError
from ledger.node import LocalNode
from tests.nodes import free_port, needs_anvil

pytestmark = needs_anvil


@pytest.mark.parametrize("hardfork", ["london", "shanghai"])
def test_a_chain_without_cancun_is_refused_before_anything_is_deployed(tmp_path: Path, hardfork: str) -> None:
    """A private network's genesis names its forks. Under London nothing of the contracts deploys; under
    Shanghai all would deploy, and the points contract would then fail to give its name (MCOPY)."""
    node = LocalNode(tmp_path / "node", port=free_port(), extra_args=("--hardfork", hardfork), persist=False)
    node.start()
    try:
        session = ChainSession.connect(node.url)
        regulator = session.new_account("regulator")
        before = session.head()
        with pytest.raises(ConfigError, match=r"^this chain's EVM cannot run the contracts, compiled for Cancun"):
            deploy_all(session, regulator)
        assert session.head() == before  # nothing was sent
    finally:
        node.stop()

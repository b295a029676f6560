"""The workspace's reading of its own records, without a chain."""

from __future__ import annotations

import pytest

from ledger.services.workspace import _loopback_port


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://127.0.0.1:8545", 8545),
        ("http://127.0.0.1:8545/", 8545),
        ("http://127.0.0.1:²", None),  # a digit to str.isdigit, not to int()
        ("http://127.0.0.1:99999", None),
        ("http://127.0.0.1:0", None),
        ("https://node.example:8545", None),
        (None, None),
    ],
)
def test_the_loopback_port_of_a_recorded_node_url(url: str | None, port: int | None) -> None:
    assert _loopback_port(url) == port

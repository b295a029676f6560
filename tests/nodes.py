"""Helpers for tests against a local anvil node (from `npm ci`)."""

from __future__ import annotations

import socket

import pytest

from ledger.node import ANVIL_RELATIVE, PROJECT_ROOT

#: Mark for modules that start anvil: it comes from node_modules, which `make test` installs.
needs_anvil = pytest.mark.skipif(
    not (PROJECT_ROOT / ANVIL_RELATIVE).exists(), reason="anvil comes from `npm ci` (run by `make test`)"
)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

"""The ledger hashes through safe-pysha3, unless the user chose eth-hash's backend, and tells no one else to."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os
import ledger
from eth_hash.auto import keccak
digest = keccak(b"transfer(address,uint256)").hex()
print(json.dumps({
    "backend": type(keccak.hasher.__self__).__name__,
    "digest": digest,
    "variable": os.environ.get("ETH_HASH_BACKEND"),
}))
"""

# Keccak-256 of ERC-20's transfer signature: its first four bytes are the well-known selector a9059cbb
DIGEST = "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b"


def _probe(**env: str) -> dict[str, str | None]:
    clean = {k: v for k, v in os.environ.items() if k != "ETH_HASH_BACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    result: dict[str, str | None] = json.loads(out)
    return result


@pytest.mark.parametrize(
    ("chosen", "backend"), [(None, "PySha3Backend"), ("pycryptodome", "CryptodomeBackend")], ids=["ours", "users"]
)
def test_the_backend_eth_hash_settles_on(chosen: str | None, backend: str) -> None:
    result = _probe(**({"ETH_HASH_BACKEND": chosen} if chosen else {}))
    assert result["backend"] == backend
    assert result["digest"] == DIGEST
    assert result["variable"] == chosen  # set only for the first hash, never left for programs started later

"""mkj-ledger: settlements and policy points of a regional technology market on a permissioned chain."""

import os
from importlib.util import find_spec


def _choose_keccak_backend() -> None:
    """Hash with safe-pysha3 (C) rather than eth-hash's default, pycryptodome.

    py-evm hashes every storage key and trie node through eth-hash, one short input at a time, where
    pycryptodome's per-call cost dominates: the embedded chain imports settlements about 5% faster with
    the C backend. eth-hash settles its backend, from ETH_HASH_BACKEND, at the first hash; the variable is
    set only for that hash, so that other programs started from here (which may lack the package) are
    not told to use it. A backend chosen by the user, or already settled, is left as it is."""
    if "ETH_HASH_BACKEND" in os.environ or find_spec("sha3") is None:
        return
    from eth_hash.auto import keccak

    os.environ["ETH_HASH_BACKEND"] = "pysha3"
    try:
        keccak(b"")
    finally:
        del os.environ["ETH_HASH_BACKEND"]


_choose_keccak_backend()

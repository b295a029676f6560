"""Compile the Solidity contracts into the committed artifact file.

Only developers need this (through ``scripts/compile``); running ``ledger`` reads the committed
artifacts and never needs Node or a compiler.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ledger.chain.artifacts import DEPLOYED_CONTRACTS, canonical_type, runtime_digest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
SHIM = PROJECT_ROOT / "scripts" / "solc"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 100_000


def source_files() -> list[Path]:
    """Every Solidity source of the project, in a stable order."""
    return sorted(CONTRACTS_DIR.rglob("*.sol"))


def sources_hash() -> str:
    """SHA-256 over the project's Solidity sources (path and content), hex."""
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def standard_input() -> dict[str, Any]:
    """The compiler's standard-JSON input: the ledger's contract sources and the settings the artifacts pin."""
    return {
        "language": "Solidity",
        "sources": {
            path.relative_to(PROJECT_ROOT).as_posix(): {"content": path.read_text(encoding="utf-8")}
            for path in source_files()
        },
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": True,
            "evmVersion": EVM_VERSION,
            "outputSelection": {
                "*": {
                    "*": [
                        "abi",
                        "evm.bytecode.object",
                        "evm.deployedBytecode.object",
                        "evm.deployedBytecode.immutableReferences",
                    ]
                }
            },
        },
    }


def compile_all() -> dict[str, Any]:
    """Compile every contract through the solc shim and return the artifact document."""
    import solcx  # imported here: only developers compile

    output = solcx.compile_standard(standard_input(), solc_binary=SHIM, allow_paths=[str(PROJECT_ROOT)])
    compiler = _shim_version()
    contracts: dict[str, Any] = {}
    for source, by_name in output["contracts"].items():
        for name, data in by_name.items():
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode or not data["abi"]:
                continue  # interfaces, abstract contracts, libraries of internal functions
            deployed = data["evm"]["deployedBytecode"]
            immutables = sorted(
                (ref["start"], ref["length"])
                for refs in deployed.get("immutableReferences", {}).values()
                for ref in refs
            )
            contracts[name] = {
                "source": source,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode,
                "deployed_size": len(deployed["object"]) // 2,
                # what its code on chain must be, but for the immutables its constructor writes into it
                "runtime_sha256": runtime_digest(bytes.fromhex(deployed["object"]), immutables),
                "immutables": [list(span) for span in immutables],
            }
    errors = _all_errors(output)
    return {
        "compiler": compiler,
        "evm_version": EVM_VERSION,
        "optimizer_runs": OPTIMIZER_RUNS,
        "sources_hash": sources_hash(),
        "deployed": list(DEPLOYED_CONTRACTS),
        "contracts": dict(sorted(contracts.items())),
        "errors": errors,
    }


def _shim_version() -> str:
    import subprocess

    out = subprocess.run([str(SHIM), "--version"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"the solc shim did not report a version: {out!r}")


def _all_errors(output: dict[str, Any]) -> list[dict[str, Any]]:
    """ABI entries of every custom error in every contract and interface, deduplicated."""
    seen: dict[str, dict[str, Any]] = {}
    for by_name in output["contracts"].values():
        for data in by_name.values():
            for entry in data["abi"]:
                if entry["type"] == "error":
                    signature = entry["name"] + "(" + ",".join(canonical_type(i) for i in entry["inputs"]) + ")"
                    seen.setdefault(signature, entry)
    return [seen[key] for key in sorted(seen)]

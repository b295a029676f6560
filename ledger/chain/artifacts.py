"""The committed contract artifacts (ABI and bytecode), read without any compiler."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ARTIFACT_PATH = Path(__file__).resolve().parent.parent / "artifacts" / "contracts.json"

#: Contracts that a deployment creates, in deployment order.
DEPLOYED_CONTRACTS = ("Membership", "PolicyRegistry", "ContractRegistry", "Points", "SettlementLedger")

#: EIP-170: the largest deployed code a production chain accepts.
MAX_CODE_SIZE = 24_576


@dataclass(frozen=True)
class Artifact:
    """A compiled contract as the package ships it: ABI, creation bytecode, size of the deployed code,
    and the digest its code on chain must have (`runtime_digest`, with the places of its immutables)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_size: int
    runtime_sha256: str = ""
    immutables: tuple[tuple[int, int], ...] = ()

    @property
    def code_hash(self) -> str:
        return hashlib.sha256(bytes.fromhex(self.bytecode.removeprefix("0x"))).hexdigest()


@cache
def load_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    return document


def artifact(name: str) -> Artifact:
    data = load_document()["contracts"][name]
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_size=data["deployed_size"],
        runtime_sha256=data.get("runtime_sha256", ""),
        immutables=tuple((start, length) for start, length in data.get("immutables", ())),
    )


def runtime_digest(code: bytes, immutables: Iterable[tuple[int, int]]) -> str:
    """SHA-256 of a contract's deployed code with its immutables (start, length in bytes) zeroed: the
    same for every deployment of the same sources, whatever its constructor was given."""
    blank = bytearray(code)
    for start, length in immutables:
        blank[start : start + length] = bytes(min(length, max(len(blank) - start, 0)))
    return hashlib.sha256(bytes(blank)).hexdigest()


def canonical_type(param: dict[str, Any]) -> str:
    """The ABI type of a parameter as it appears in a signature (tuples spelled out)."""
    abi_type = str(param["type"])
    if abi_type.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){abi_type[len('tuple') :]}"
    return abi_type


def all_error_abis() -> list[dict[str, Any]]:
    """Every custom error declared anywhere in the contracts (for decoding reverts)."""
    errors: list[dict[str, Any]] = load_document()["errors"]
    return errors

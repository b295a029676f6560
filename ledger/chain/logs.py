"""Read the deployment's event log fast: raw `eth_getLogs` in block ranges, decoded with eth_abi."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ledger.chain.artifacts import DEPLOYED_CONTRACTS, artifact, canonical_type
from ledger.chain.session import ChainSession
from ledger.errors import ChainError

#: First block range of a log query; it doubles while responses are light and halves when heavy.
DEFAULT_RANGE = 32


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One decoded event, with where it sits in the chain."""

    name: str
    contract: str
    args: dict[str, Any]
    block: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True, slots=True)
class _EventSpec:
    name: str
    contract: str
    indexed: tuple[tuple[str, str], ...]
    plain_names: tuple[str, ...]
    plain_types: tuple[str, ...]
    all_static: bool


@cache
def event_specs() -> dict[bytes, _EventSpec]:
    """topic0 -> how to decode it, for every event of the deployed contracts."""
    specs: dict[bytes, _EventSpec] = {}
    for contract in DEPLOYED_CONTRACTS:
        for entry in artifact(contract).abi:
            if entry["type"] != "event":
                continue
            signature = f"{entry['name']}({','.join(canonical_type(i) for i in entry['inputs'])})"
            topic = keccak(text=signature)
            specs[topic] = _EventSpec(
                name=entry["name"],
                contract=contract,
                indexed=tuple((i["name"], i["type"]) for i in entry["inputs"] if i["indexed"]),
                plain_names=tuple(i["name"] for i in entry["inputs"] if not i["indexed"]),
                plain_types=tuple(canonical_type(i) for i in entry["inputs"] if not i["indexed"]),
                all_static=all(_static(canonical_type(i)) for i in entry["inputs"] if not i["indexed"]),
            )
    return specs


def as_bytes(value: Any) -> bytes:
    """Bytes from a hex string (JSON-RPC) or bytes-like (eth-tester)."""
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


@lru_cache(maxsize=65_536)
def checksum(address: str) -> str:
    """EIP-55 spelling of an address (cached: the same few accounts recur in every log)."""
    return str(to_checksum_address(address))


def _word(abi_type: str, word: bytes) -> Any:
    """One static ABI word, sliced directly (eth_abi does the same far slower, per call)."""
    if abi_type == "address":
        return checksum("0x" + word[12:].hex())
    if abi_type == "bool":
        return word[31] == 1
    if abi_type.startswith("bytes"):
        return word[: int(abi_type[5:])]
    if abi_type.startswith("uint"):
        return int.from_bytes(word, "big")
    (value,) = abi_decode([abi_type], word)
    return value


def _static(abi_type: str) -> bool:
    return (
        abi_type in ("address", "bool")
        or abi_type.startswith("uint")
        or (abi_type.startswith("bytes") and abi_type[5:].isdigit())
    )


def decode_log(log: dict[str, Any], names: dict[str, str]) -> LogEvent | None:
    """Decode one raw log of a known contract; None for a log no deployed contract declares."""
    topics = [as_bytes(t) for t in log["topics"]]
    if not topics:
        return None
    spec = event_specs().get(topics[0])
    if spec is None:
        return None
    args: dict[str, Any] = {}
    for (name, abi_type), topic in zip(spec.indexed, topics[1:], strict=True):
        # a dynamic type's topic is only its hash: keep the bytes
        args[name] = _word(abi_type, topic) if _static(abi_type) else topic
    data = as_bytes(log["data"])
    if spec.all_static:
        for i, (name, abi_type) in enumerate(zip(spec.plain_names, spec.plain_types, strict=True)):
            args[name] = _word(abi_type, data[32 * i : 32 * i + 32])
    else:
        values = abi_decode(list(spec.plain_types), data)
        for name, abi_type, value in zip(spec.plain_names, spec.plain_types, values, strict=True):
            args[name] = checksum(value) if abi_type == "address" else value
    return LogEvent(
        name=spec.name,
        contract=names.get(checksum(log["address"]), spec.contract),
        args=args,
        block=as_int(log["blockNumber"]),
        tx_hash="0x" + as_bytes(log["transactionHash"]).hex(),
        log_index=as_int(log["logIndex"]),
    )


#: Aim for responses of about this many logs: large enough to be fast, small enough to stream.
TARGET_LOGS_PER_REQUEST = 5_000


def log_ranges(
    session: ChainSession, addresses: list[str], *, start: int, end: int, chunk: int = DEFAULT_RANGE
) -> Iterator[tuple[int, int, list[Any]]]:
    """Raw logs of `addresses` from block `start` to `end`, range by range; a range that returned
    many logs is followed by one narrowed in proportion, so that memory stays bounded whatever the density."""
    position = start
    while position <= end:
        last = min(position + chunk - 1, end)
        raw = fetch_logs(session, {"fromBlock": hex(position), "toBlock": hex(last), "address": addresses})
        yield position, last, raw
        if len(raw) > TARGET_LOGS_PER_REQUEST and chunk > 1:
            chunk = max(1, chunk * TARGET_LOGS_PER_REQUEST // len(raw))
        elif len(raw) < TARGET_LOGS_PER_REQUEST // 4:
            chunk = min(chunk * 2, 100_000)
        position = last + 1


def iter_logs(
    session: ChainSession,
    addresses: dict[str, str],
    *,
    from_block: int,
    to_block: int | None = None,
    chunk: int = DEFAULT_RANGE,
    on_range: Callable[[int, int, int], None] | None = None,
) -> Iterator[LogEvent]:
    """Every event of the deployment between two blocks (inclusive), in chain order, streamed."""
    last = int(session.w3.eth.block_number) if to_block is None else to_block
    by_address: dict[str, str] = {to_checksum_address(a): name for name, a in addresses.items()}
    for _start, end, raw in log_ranges(session, list(by_address), start=from_block, end=last, chunk=chunk):
        raw.sort(key=lambda lg: (as_int(lg["blockNumber"]), as_int(lg["logIndex"])))
        for log in raw:
            event = decode_log(log, by_address)
            if event is not None:
                yield event
        if on_range is not None:
            on_range(end - from_block + 1, last - from_block + 1, len(raw))


def as_int(value: Any) -> int:
    """An int from a hex string (JSON-RPC) or an int (eth-tester)."""
    return int(value, 16) if isinstance(value, str) else int(value)


def fetch_logs(session: ChainSession, params: dict[str, Any]) -> list[Any]:
    """Raw `eth_getLogs` (on a node, without web3's per-log processing)."""
    if session.kind == "embedded":
        return list(session.w3.eth.get_logs(params))  # type: ignore[arg-type]
    response = session.w3.provider.make_request("eth_getLogs", [params])  # type: ignore[arg-type]
    if "error" in response:
        error = response["error"]
        raise ChainError(f"the node refused to return logs: {error.get('message', error)}")
    result: list[Any] = response["result"]
    return result

"""Reads of the embedded chain (eth-tester on py-evm) straight from py-evm's database: logs block by
block, receipts by the transaction index. eth-tester's own look-ups scan the chain back from its head
for every transaction, which makes reading a history cost the square of its length.

`chain` is eth-tester's py-evm chain (`EthereumTester.backend.chain`); the answers have the shapes the
JSON-RPC reads of `ChainSession` give (`eth_getLogs`, `receipts_fast`).
"""

from __future__ import annotations

from typing import Any


def logs(chain: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """`eth_getLogs` on `chain`, read block by block from py-evm's receipts (eth-tester's own `get_logs`
    spent minutes on a scenario of 1,000 events). Log indexes count through the block, as on a node.
    `params` are those of `eth_getLogs`: hex block numbers, a list of addresses, and optional topics
    (each position None, one topic, or a list of alternatives)."""
    wanted = {bytes.fromhex(a.removeprefix("0x")) for a in params["address"]}
    topics = [
        None if t is None else {bytes.fromhex(x.removeprefix("0x")) for x in ([t] if isinstance(t, str) else t)}
        for t in params.get("topics") or []
    ]
    found: list[dict[str, Any]] = []
    for number in range(int(params["fromBlock"], 16), int(params["toBlock"], 16) + 1):
        transactions, in_block = _block(chain, number)
        index = 0
        for tx, receipt in zip(transactions, in_block, strict=True):
            for offset, log in enumerate(receipt.logs):
                if log.address not in wanted or len(log.topics) < len(topics):
                    continue
                log_topics = [topic.to_bytes(32, "big") for topic in log.topics]
                if all(want is None or got in want for want, got in zip(topics, log_topics, strict=False)):
                    found.append(
                        {
                            "address": "0x" + log.address.hex(),
                            "topics": log_topics,
                            "data": log.data,
                            "blockNumber": number,
                            "transactionHash": tx.hash,
                            "logIndex": index + offset,
                        }
                    )
            index += len(receipt.logs)
    return found


def receipts(chain: Any, hashes: list[bytes]) -> list[dict[str, Any] | None]:
    """Receipts read from py-evm's database by each transaction's index entry, each block once.

    eth-tester's `get_transaction_receipt` finds a transaction by scanning back from the head and
    formats every field of every log: on a batch of 300 settlements that took a tenth of the
    import's time. The embedded chain mines each transaction as it arrives, so one that is not in
    the index has not been mined (None)."""
    from eth.exceptions import TransactionNotFound as NotIndexed

    index_of = chain.chaindb.get_transaction_index
    blocks: dict[int, Any] = {}
    out: list[dict[str, Any] | None] = []
    for tx_hash in hashes:
        try:
            number, index = index_of(tx_hash)
        except NotIndexed:
            out.append(None)
            continue
        if number not in blocks:
            blocks[number] = _block(chain, number)[1]
        in_block = blocks[number]
        receipt = in_block[index]
        before = in_block[index - 1].gas_used if index else 0  # receipts hold the block's cumulative gas
        out.append(
            {
                "status": int.from_bytes(receipt.state_root, "big"),  # since Byzantium: 1 success, 0 failure
                "blockNumber": number,
                "gasUsed": receipt.gas_used - before,
                "logs": [
                    {"topics": [topic.to_bytes(32, "big") for topic in log.topics], "data": log.data}
                    for log in receipt.logs
                ],
            }
        )
    return out


def _block(chain: Any, number: int) -> tuple[Any, Any]:
    """Block `number` of the embedded chain as py-evm keeps it: its transactions and their receipts."""
    block = chain.get_canonical_block_by_number(number)
    return block.transactions, block.get_receipts(chain.chaindb)

"""Bulk settlement import: every row checked first, then batches on chain, exactly once, resumable.

A journal (JSON lines) records each batch before it is sent (with the hash of its signed
transaction) and after it is mined. Running the same import again after any interruption waits
for the batches still in flight, then checks every row against the chain: rows already recorded
with identical data are replays and are not sent again, so nothing is counted twice or lost.

The file is read by `payment_rows` and its rows checked, and their gas bounded, by `import_check`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from ledger.chain.encoding import id_text
from ledger.chain.logs import as_bytes, event_topic, iter_logs
from ledger.chain.session import IN_FLIGHT, RECEIPT_TIMEOUT_S, ChainSession, PoolFull, Prepared
from ledger.config import TX_GAS_CAP
from ledger.domain.money import format_points
from ledger.errors import ChainError, InputError
from ledger.files import exclusive
from ledger.services.client import LedgerClient, SettlementInput
from ledger.services.import_check import BatchGas, CheckedRow, FileReview, check_rows
from ledger.services.market_state import SETTLEMENT_TYPES, MarketState, pack_settlement
from ledger.services.payment_rows import ImportRefused, Problem, Row, read_rows, write_rejects

#: With --tight-gas each batch's limit follows the gas the previous batches really used (plus this
#: margin) and batches aim at --batch-gas: a chain with a block time then packs its blocks full.
TIGHT_GAS_MARGIN = 1.04
#: While no receipt arrives, every this many seconds the batches in flight are looked up in the node.
POOL_CHECK_AFTER_S = 1.0
#: Batches journaled (and flushed to disk) together, before any of them is sent.
JOURNAL_GROUP = 16
RECORD_BATCH_SELECTOR = keccak(text=f"recordBatch({SETTLEMENT_TYPES[0]}[])")[:4]
POINTS_ISSUED_TOPIC = as_bytes(event_topic("PointsIssued"))
SETTLEMENT_REPLAYED_TOPIC = as_bytes(event_topic("SettlementReplayed"))

Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    """What an import did: rows recorded, replayed and rejected, batches, gas, and points by rule."""

    rows: int = 0
    recorded: int = 0
    replayed: int = 0
    #: of `replayed`, rows sent because the history read before sending did not record them, which the
    #: ledger then answered as already recorded (recorded meanwhile by another import, or the node lost
    #: the block that recorded them)
    replayed_on_arrival: int = 0
    rejected: list[Problem] = field(default_factory=list)
    batches: int = 0
    points_by_rule: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0
    resumed_batches: int = 0
    gas_used: int = 0
    #: suspended party (address) -> rows sent on its contracts: recorded, its points withheld
    suspended_parties: dict[str, int] = field(default_factory=dict)

    def as_json(self, *, name_of: Callable[[str], str] = str) -> dict[str, Any]:
        """The summary for a program; `name_of` names the suspended parties (their address by default)."""
        return {
            "rows": self.rows,
            "recorded": self.recorded,
            "replayed": self.replayed,
            "replayed_on_arrival": self.replayed_on_arrival,
            "rejected": [p.as_json() for p in self.rejected],
            "batches": self.batches,
            "gas_used": self.gas_used,
            "points_by_rule": {r: format_points(v) for r, v in sorted(self.points_by_rule.items())},
            "suspended_parties": {name_of(a): n for a, n in sorted(self.suspended_parties.items())},
            "seconds": round(self.seconds, 3),
        }


def encode_batch(rows: Sequence[Row]) -> bytes:
    """Calldata of `recordBatch(Settlement[])`.

    A Settlement is a static struct of eight 32-byte words, so the array is its offset, its length
    and the packed settlements in order.
    """
    head = RECORD_BATCH_SELECTOR + (32).to_bytes(32, "big") + len(rows).to_bytes(32, "big")
    return head + b"".join(pack_settlement(row.settlement.as_tuple()) for row in rows)


class Journal:
    """Append-only JSON lines, flushed to disk before each send."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a", encoding="utf-8")
        if self._handle.tell():
            with path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    self._handle.write("\n")  # a line torn by a crash ends here, not inside the next entry

    def entries(self) -> list[dict[str, Any]]:
        """Every entry written so far, oldest first."""
        if not self.path.exists():
            return []
        out = []
        # a line torn by a crash mid-write may end inside a character, and is then no JSON object: left out
        for line in self.path.read_bytes().decode("utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def write(self, **entry: Any) -> None:
        self.write_many([entry])

    def write_many(self, entries: list[dict[str, Any]]) -> None:
        now = round(time.time(), 3)
        self._handle.write("".join(json.dumps({"at": now, **entry}) + "\n" for entry in entries))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def journal_path(folder: Path, source: Path) -> Path:
    """One journal per import file (by its absolute path), so that a re-run finds it."""
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    return folder / f"{source.name}.{digest}.journal"


class Importer:
    """Sends checked rows in `recordBatch` transactions, journaled before they are sent, a bounded number
    in flight, and collects their receipts (see the module docstring)."""

    def __init__(
        self,
        session: ChainSession,
        *,
        ledger_address: str,
        operator: LocalAccount,
        journal: Journal,
        batch_size: int | None = None,
        progress: Progress | None = None,
        tight_gas: bool = False,
        batch_gas: int = TX_GAS_CAP,
        receipt_timeout_s: float = RECEIPT_TIMEOUT_S,
    ) -> None:
        self.receipt_timeout_s = receipt_timeout_s
        self.tight_gas = tight_gas
        self.session = session
        self.gas_ceiling = session.gas_ceiling()  # EIP-7825's cap, or a smaller block gas limit
        self.batch_gas = min(batch_gas, self.gas_ceiling)
        self.ledger_address = ledger_address
        self.operator = operator
        self.journal = journal
        self.batch_size = max(1, batch_size) if batch_size else None
        self.progress = progress
        self._gas_per_row: float | None = None
        self._tight_floor = 0
        #: batches journaled but not yet taken by the node, whose pool had no room for them (`PoolFull`)
        self._untaken: set[int] = set()

    def resume(self) -> int:
        """Wait for batches a previous run sent but did not see mined; returns how many there were."""
        entries = self.journal.entries()
        mined = {e["tx"] for e in entries if e.get("event") in ("mined", "failed", "lost")}
        unfinished = [e for e in entries if e.get("event") == "sent" and e["tx"] not in mined]
        for entry in unfinished:
            receipt = self._find_receipt(entry["tx"], wait_s=5.0)
            if receipt is None:
                self.journal.write(event="lost", batch=entry["batch"], tx=entry["tx"])
            else:
                self.journal.write(
                    event="mined",
                    batch=entry["batch"],
                    tx=entry["tx"],
                    block=receipt["blockNumber"],
                    status=receipt["status"],
                )
        self.session.forget_nonce(self.operator.address)
        return len(unfinished)

    def _find_receipt(self, tx_hash: str, *, wait_s: float) -> Any:
        """The receipt of a transaction a previous run sent, waiting while the node still holds it."""
        digest = bytes.fromhex(tx_hash.removeprefix("0x"))
        deadline = time.monotonic() + wait_s
        while True:
            (receipt,) = self.session.receipts_fast([digest])
            if receipt is not None:
                return receipt
            (pending,) = self.session.rpc_batch([("eth_getTransactionByHash", [tx_hash])])
            if pending is None or time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def send(self, rows: list[CheckedRow], result: ImportResult) -> list[CheckedRow]:
        """Send `rows` in batches, a bounded number in flight; returns rows of batches that failed."""
        batches = self.plan(rows)
        in_flight: list[tuple[int, list[CheckedRow], Prepared]] = []
        failed: list[CheckedRow] = []
        done = 0
        for start in range(0, len(batches), JOURNAL_GROUP):
            group = []
            for number in range(start, min(start + JOURNAL_GROUP, len(batches))):
                batch, bound = batches[number]
                data = encode_batch(batch)
                prepared = self.session.prepare(
                    self.operator, to=self.ledger_address, data=data, gas=self._gas_for(batch, bound, data)
                )
                group.append((number, batch, prepared))
            # the journal names every transaction before the node sees it (one flush for the group)
            self.journal.write_many(
                [
                    {
                        "event": "sent",
                        "batch": number,
                        "tx": "0x" + prepared.tx_hash.hex(),
                        "nonce": prepared.tx["nonce"],
                        "lines": [batch[0].line, batch[-1].line],
                        "count": len(batch),
                    }
                    for number, batch, prepared in group
                ]
            )
            for entry in group:
                in_flight.append(entry)
                self._offer(entry)
            while len(in_flight) >= IN_FLIGHT:
                done += self._collect(in_flight, result, failed)
                self._report(done, len(rows))
        while in_flight:
            done += self._collect(in_flight, result, failed)
            self._report(done, len(rows))
        return failed

    def _offer(self, entry: tuple[int, list[CheckedRow], Prepared]) -> bool:
        """Hand a batch to the node, in nonce order: behind a batch the pool had no room for, or when it
        has none for this one, the batch waits (`_offer_untaken` sends it once blocks make room)."""
        number, _batch, prepared = entry
        if self._untaken:
            self._untaken.add(number)
            return False
        try:
            self.session.submit(prepared)
        except PoolFull:
            self._untaken.add(number)
            return False
        return True

    def _offer_untaken(self, in_flight: list[tuple[int, list[CheckedRow], Prepared]]) -> None:
        """Send the batches the pool had no room for, oldest first, until it has none again."""
        waiting = [entry for entry in in_flight if entry[0] in self._untaken]
        self._untaken.clear()
        for position, entry in enumerate(waiting):
            if not self._offer(entry):
                self._untaken.update(number for number, _, _ in waiting[position:])
                return

    def _resend_lost(self, in_flight: list[tuple[int, list[CheckedRow], Prepared]]) -> None:
        """Send again, byte for byte, the batches the node no longer knows (neither mined nor pending).

        A node may drop a valid transaction from its pool (anvil does, when a later, smaller one of
        the same sender fits a block its predecessors did not; a full pool evicts). The same signed
        bytes have the same hash and nonce, so sending them again can never record a batch twice.
        """
        taken = [entry for entry in in_flight if entry[0] not in self._untaken]
        known = self.session.rpc_batch([("eth_getTransactionByHash", ["0x" + p.tx_hash.hex()]) for _, _, p in taken])
        for entry, tx in zip(taken, known, strict=True):
            if tx is None:
                number, _batch, prepared = entry
                self.journal.write(event="resent", batch=number, tx="0x" + prepared.tx_hash.hex())
                self._offer(entry)
        self._offer_untaken(in_flight)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def plan(self, rows: list[CheckedRow]) -> list[tuple[list[CheckedRow], int]]:
        """Batches whose gas bounds (`BatchGas`) fit the batch gas (never above the transaction cap or
        the chain's block gas limit), each with its bound."""
        batches: list[tuple[list[CheckedRow], int]] = []
        current: list[CheckedRow] = []
        bound = BatchGas()
        for row in rows:
            cost = bound.cost(row)
            full = self.batch_size is not None and len(current) >= self.batch_size
            if current and (full or bound.total + cost > self.batch_gas):
                batches.append((current, bound.total))
                current, bound = [], BatchGas()
                cost = bound.cost(row)
            current.append(row)
            bound.add(row, cost)
        if current:
            batches.append((current, bound.total))
        return batches

    def _gas_for(self, batch: list[CheckedRow], bound: int, data: bytes) -> int:
        """The batch's gas bound, or (tight) what such rows really used lately, plus a margin."""
        bound = min(self.gas_ceiling, bound)
        if not self.tight_gas:
            return bound
        if self._gas_per_row is None:
            estimate = self.session.estimate(self.operator.address, to=self.ledger_address, data=data)
            self._gas_per_row = estimate / len(batch)
        limit = min(bound, int(self._gas_per_row * len(batch) * TIGHT_GAS_MARGIN) + 20_000)
        # Never below an earlier batch's limit: a node that fills its blocks by gas limit could otherwise
        # take a later, smaller transaction into a block its predecessor did not fit (anvil then drops
        # it), and a last, short batch keeps room for the once-per-transaction costs.
        self._tight_floor = max(self._tight_floor, limit)
        return self._tight_floor

    def _collect(
        self, in_flight: list[tuple[int, list[CheckedRow], Prepared]], result: ImportResult, failed: list[CheckedRow]
    ) -> int:
        """Receipts of the batches in flight (one request); handles those mined, oldest first."""
        started = time.monotonic()
        deadline = started + self.receipt_timeout_s
        next_pool_check = started + POOL_CHECK_AFTER_S
        while True:
            receipts = self.session.receipts_fast([p.tx_hash for _, _, p in in_flight])
            if any(r is not None for r in receipts):
                break
            now = time.monotonic()
            if now > deadline:
                raise ChainError(
                    f"no batch was mined for {self.receipt_timeout_s:.0f} s; run the same import again to resume"
                )
            if now > next_pool_check:
                self._resend_lost(in_flight)
                next_pool_check = now + POOL_CHECK_AFTER_S
            time.sleep(0.02)
        settled = 0
        still: list[tuple[int, list[CheckedRow], Prepared]] = []
        for (number, batch, prepared), receipt in zip(in_flight, receipts, strict=True):
            if receipt is None:
                still.append((number, batch, prepared))
                continue
            settled += len(batch)
            tx = "0x" + prepared.tx_hash.hex()
            if receipt["status"] != 1:
                error = self.session.explain_failure(prepared, receipt["blockNumber"])
                self.journal.write(event="failed", batch=number, tx=tx, error=str(error))
                self.tight_gas = False  # the retry uses the safe bounds: the failure may have been the limit
                failed.extend(batch)
                continue
            self.journal.write(event="mined", batch=number, tx=tx, block=receipt["blockNumber"], status=1)
            if self.tight_gas:
                used = receipt["gasUsed"] / len(batch)
                previous = self._gas_per_row or used
                self._gas_per_row = max(used, 0.8 * previous + 0.2 * used)
            result.batches += 1
            result.gas_used += receipt["gasUsed"]
            replays = 0
            for log in receipt["logs"]:
                topics = log["topics"]
                if topics[0] == POINTS_ISSUED_TOPIC:
                    result.points_by_rule[id_text(topics[2])] += int.from_bytes(log["data"][:32], "big")
                elif topics[0] == SETTLEMENT_REPLAYED_TOPIC:
                    replays += 1
            result.recorded += len(batch) - replays
            result.replayed += replays
            result.replayed_on_arrival += replays
        in_flight[:] = still
        if self._untaken:  # the blocks that mined these made room in the pool
            self._offer_untaken(in_flight)
        return settled


def import_file(
    session: ChainSession,
    *,
    path: Path,
    state_loader: Callable[[], MarketState],
    ledger_address: str,
    operator: LocalAccount,
    journal_folder: Path,
    skip_invalid: bool = False,
    reject_path: Path | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    tight_gas: bool = False,
    batch_gas: int = TX_GAS_CAP,
    receipt_timeout_s: float = RECEIPT_TIMEOUT_S,
    recorded: Callable[[set[str]], dict[str, SettlementInput]] | None = None,
) -> ImportResult:
    """Check every row, then record the good ones on chain exactly once (see the module docstring).
    `recorded` finds the settlements recorded under some references, for the problem of each row
    that conflicts with one to say what differs."""
    with sole_import(journal_folder, operator.address):
        started = time.perf_counter()
        rows, problems = read_rows(path)
        journal = Journal(journal_path(journal_folder, path))
        try:
            importer = Importer(
                session,
                ledger_address=ledger_address,
                operator=operator,
                journal=journal,
                batch_size=batch_size,
                progress=progress,
                tight_gas=tight_gas,
                batch_gas=batch_gas,
                receipt_timeout_s=receipt_timeout_s,
            )
            result = ImportResult(rows=len(rows) + len(problems))
            result.resumed_batches = importer.resume()
            review = FileReview.of(rows, problems, state_loader(), now=session.now(), recorded=recorded)
            if review.problems and not skip_invalid:
                raise ImportRefused(review.problems)
            result.rejected = review.problems
            result.replayed += len(review.checked.replays)
            result.suspended_parties = review.suspended_parties
            if review.problems and reject_path is not None:
                write_rejects(reject_path, review.problems)
            to_send = review.checked.to_send
            journal.write(event="start", file=str(path), rows=result.rows, to_send=len(to_send))
            for _attempt in range(3):
                if not to_send:
                    break
                failed = importer.send(to_send, result)
                if not failed:
                    break
                # re-check what failed against the chain as it now is, and retry
                to_send = check_rows(failed, state_loader(), now=session.now()).to_send
            else:
                raise ChainError("some batches kept failing; run the same import again to resume")
            journal.write(
                event="done", recorded=result.recorded, replayed=result.replayed, rejected=len(result.rejected)
            )
        finally:
            journal.close()
        result.seconds = time.perf_counter() - started
        return result


def import_against_history(
    client: LedgerClient, *, path: Path, operator: LocalAccount, journal_folder: Path, from_block: int, **options: Any
) -> ImportResult:
    """`import_file`, each row checked against the chain's own history, read from its event log from
    `from_block` (the deployment's first block) whenever the import checks: for a program without a
    local index (`ledger settle import` checks against its workspace's index)."""

    def history() -> MarketState:
        return MarketState.from_events(iter_logs(client.session, client.addresses, from_block=from_block))

    return import_file(
        client.session,
        path=path,
        state_loader=history,
        ledger_address=client.addresses["SettlementLedger"],
        operator=operator,
        journal_folder=journal_folder,
        **options,
    )


@contextmanager
def sole_import(folder: Path, signer: str) -> Iterator[None]:
    """One import at a time per signing key in a workspace: two would take each other's nonces (and,
    for one file, share its journal)."""
    with exclusive(folder / f"{signer.lower()}.lock", wait=False) as taken:
        if not taken:
            raise InputError(
                f"another import signed by {signer} is running in this workspace; run this one once it ends"
            )
        yield

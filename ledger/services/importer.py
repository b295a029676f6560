"""Bulk settlement import: every row checked first, then batches on chain, exactly once, resumable.

A journal (JSON lines) records each batch before it is sent (with the hash of its signed
transaction) and after it is mined. Running the same import again after any interruption waits
for the batches still in flight, then checks every row against the chain: rows already recorded
with identical data are replays and are not sent again, so nothing is counted twice or lost.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from ledger.chain.encoding import id_text
from ledger.chain.logs import as_bytes, event_topic, iter_logs
from ledger.chain.session import ChainSession, PoolFull, Prepared
from ledger.config import TX_GAS_CAP
from ledger.domain.dates import calendar_day, format_beijing, parse_instant
from ledger.domain.engine import PER_MEMBER_YEAR_RULES, AwardEngine
from ledger.domain.ids import check_identifier
from ledger.domain.money import format_points, parse_yuan, readable_yuan
from ledger.domain.types import SettlementKind
from ledger.errors import ChainError, InputError, LedgerError, with_differences
from ledger.files import (
    PAYMENT_COLUMNS,
    REQUIRED_PAYMENT_COLUMNS,
    JsonProblem,
    encoding_hint,
    exclusive,
    parse_json,
    write_file,
)
from ledger.format import count, spreadsheet_cell, unspreadsheet_cell
from ledger.services.client import LedgerClient, SettlementInput
from ledger.services.market_state import (
    SETTLEMENT_TYPES,
    ContractState,
    MarketState,
    pack_settlement,
    settlement_hash,
)

#: Room kept in every batch for the transaction itself (intrinsic gas, role check, first touches).
TX_OVERHEAD_BOUND = 100_000
#: Upper bounds of what one settlement can cost, by what it does. tests/chain/test_import.py measures
#: the costliest case of each and fails if a bound is ever exceeded. Measured on eth-tester, one more
#: such row in a batch of rows on distinct contracts with distinct parties costs 62,068 gas (first
#: payment), 44,980 (later), plus per rule checked 1,300 (the batch already asked the policy about
#: that rule and date) to 4,000 (it asks), and about 32,000 per award; the bounds keep 16 to 25% above
#: that (twice the dearest check, whose cost grows with the rule's version history).
#: The tighter they are, the more rows a batch holds: on a node that mines one block per transaction,
#: the number of blocks, not of rows, sets the pace.
#: Here: a payment on a milestone or royalty period paid for the first time (every slot cold, several
#: written from zero), and one on a milestone or period already paid;
FIRST_PAYMENT_GAS_BOUND = 72_000
LATER_PAYMENT_GAS_BOUND = 54_000
#: each rate rule the ledger evaluates without issuing points (the contract's basis stays below every
#: version's threshold), and each it may issue points by (to a first-time recipient).
RULE_CHECK_GAS_BOUND = 8_000
AWARD_GAS_BOUND = 40_000
#: Inside one batch some of that is paid once: a rule check whose rule an earlier row of the batch
#: already asked the policy registry about, for the same payment date, is answered from the ledger's
#: memo (measured 1,300; bound twice that); a row paying the milestone or royalty period an earlier row
#: of the batch paid finds the contract's slots and that slot warm and already written, which saves at
#: least 13,600 (three cold reads and two first writes of a transaction); 12,000 is taken off. The
#: same test measures what each such row adds to a batch.
RULE_MEMO_GAS_BOUND = 2_600
WARM_SLOT_SAVING = 12_000
MAX_AWARDS = 4
WORST_CASE_SETTLEMENT_GAS = FIRST_PAYMENT_GAS_BOUND + MAX_AWARDS * AWARD_GAS_BOUND
#: The most rows one batch may hold: with every row at the worst case it still fits under the cap.
MAX_BATCH = (TX_GAS_CAP - TX_OVERHEAD_BOUND) // WORST_CASE_SETTLEMENT_GAS
#: With --tight-gas each batch's limit follows the gas the previous batches really used (plus this
#: margin) and batches aim at --batch-gas: a chain with a block time then packs its blocks full.
TIGHT_GAS_MARGIN = 1.04
RECEIPT_TIMEOUT_S = 120.0
IN_FLIGHT = 64
#: While no receipt arrives, every this many seconds the batches in flight are looked up in the node.
POOL_CHECK_AFTER_S = 1.0
#: Batches journaled (and flushed to disk) together, before any of them is sent.
JOURNAL_GROUP = 16
RECORD_BATCH_SELECTOR = keccak(text=f"recordBatch({SETTLEMENT_TYPES[0]}[])")[:4]
POINTS_ISSUED_TOPIC = as_bytes(event_topic("PointsIssued"))
SETTLEMENT_REPLAYED_TOPIC = as_bytes(event_topic("SettlementReplayed"))
ALIASES = {"reference": "ref", "payment_reference": "ref", "contract_id": "contract"}
#: The columns a reject file adds to the rows it holds (ignored when such a file is imported again).
REJECT_COLUMNS = ("line", "error")
KNOWN_COLUMNS = frozenset(PAYMENT_COLUMNS + REJECT_COLUMNS)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Row:
    line: int
    settlement: SettlementInput
    raw: dict[str, str]
    #: the most gas the row can cost in a batch of its own (see `BatchGas` for rows sharing a batch)
    gas_bound: int = WORST_CASE_SETTLEMENT_GAS
    #: the rate rules the row is evaluated against, and those of them that cannot issue points
    rules: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    @property
    def data_hash(self) -> bytes:
        return settlement_hash(self.settlement.as_tuple())

    @property
    def slot(self) -> tuple[str, int | str | None]:
        """The milestone or royalty period the row pays."""
        s = self.settlement
        return (s.contract, s.period if s.period is not None else s.milestone)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    raw: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        """The bad row as a program reads it: its line and what is wrong."""
        return {"line": self.line, "message": self.message}


@dataclass
class ImportResult:
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


class ImportRefused(InputError):
    """The file has bad rows; nothing was sent. `problems` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  line {p.line}: {p.message}" for p in problems)
        super().__init__(f"{count(len(problems), 'bad row')}, nothing was sent:\n{lines}")


# --- reading --------------------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[Row], list[Problem]]:
    """Parse a CSV or JSON file of payments; every malformed row becomes a `Problem` with its line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        save_as = "UTF-8" if path.suffix.lower() == ".json" else '"CSV UTF-8"'
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}){encoding_hint(data, save_as=save_as)}") from None
    if path.suffix.lower() == ".json":
        return _json_rows(text, path)
    return _csv_rows(text, path)


def _csv_rows(text: str, path: Path) -> tuple[list[Row], list[Problem]]:
    reader = csv.reader(io.StringIO(text))
    fieldnames = next(reader, None)
    while fieldnames == []:  # blank lines before the header, as csv.DictReader allows
        fieldnames = next(reader, None)
    if fieldnames is None:
        raise InputError(f"{path} is empty; it needs a header line: {','.join(PAYMENT_COLUMNS)}")
    header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in fieldnames]
    missing = [c for c in REQUIRED_PAYMENT_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: the header lacks the column(s) {', '.join(missing)}")
    unknown = [h for h in header if h not in KNOWN_COLUMNS]
    if unknown:  # a misspelt column would otherwise be dropped without a word
        raise InputError(
            f"{path}: the header has column(s) the import does not know: {', '.join(unknown)} "
            f"(it knows {','.join(PAYMENT_COLUMNS)})"
        )
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise InputError(f"{path}: the header names the column(s) {', '.join(twice)} more than once")
    rows: list[Row] = []
    problems: list[Problem] = []
    width = len(header)
    # A reject file (it has their columns) wrote its cells for a spreadsheet: read them back as they were.
    cell = unspreadsheet_cell if REJECT_COLUMNS[1] in header else str
    for record in reader:
        if not record:
            continue  # a blank line
        raw = dict(zip(header, (cell(v.strip()) for v in record), strict=False))  # lengths checked below
        if len(record) < width:
            raw.update((name, "") for name in header[len(record) :])
        elif len(record) > width:
            problems.append(Problem(reader.line_num, "the row has more fields than the header", raw))
            continue
        _parse(raw, reader.line_num, rows, problems)
    return rows, problems


def _json_rows(text: str, path: Path) -> tuple[list[Row], list[Problem]]:
    try:
        data = parse_json(text, decimals_as_text=True, unique_keys=True)
    except JsonProblem as exc:
        raise InputError(f"{path} is {exc}") from None
    items = data.get("settlements") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError(f'{path} must hold a list of payments (or {{"settlements": [...]}})')
    rows: list[Row] = []
    problems: list[Problem] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(number, "a payment must be a JSON object", {}))
            continue
        raw = {
            ALIASES.get(str(k), str(k)): "" if v is None else (v if isinstance(v, str) else json.dumps(v))
            for k, v in item.items()
        }
        unknown = [k for k in raw if k not in KNOWN_COLUMNS]
        if unknown:
            problems.append(Problem(number, f"unknown field(s) {', '.join(unknown)}", raw))
            continue
        _parse(raw, number, rows, problems)
    return rows, problems


def _parse(raw: dict[str, str], line: int, rows: list[Row], problems: list[Problem]) -> None:
    try:
        ref = _identifier_cell(raw.get("ref", ""), "payment reference")
        contract = _identifier_cell(raw.get("contract", ""), "contract id")
        amount = parse_yuan(_filled(raw.get("amount", ""), "amount"), what="amount")
        paid_at = _payment_date(_filled(raw.get("date", ""), "date"))
        milestone = _milestone(raw.get("milestone", ""))
        period = check_identifier(raw["period"], what="royalty period") if raw.get("period") else None
        if period is not None and milestone is not None:
            raise InputError("a payment is for a milestone or a royalty period, not both")
        kind = raw.get("kind", "") or "cash"
        if kind not in ("cash", "equity"):
            raise InputError(f"kind must be cash or equity, not {kind!r}")
        evidence = _evidence(raw.get("evidence", ""))
    except LedgerError as exc:
        problems.append(Problem(line, str(exc), raw))
        return
    settlement = SettlementInput(
        ref=ref,
        contract=contract,
        amount=amount,
        paid_at=paid_at,
        milestone=milestone,
        period=period,
        kind=SettlementKind.EQUITY if kind == "equity" else SettlementKind.CASH,
        evidence_hash=evidence,
    )
    rows.append(Row(line, settlement, raw))


def _filled(text: str, what: str) -> str:
    """A cell that must not be left empty (as the identifiers' own check says of theirs)."""
    if text == "":
        raise InputError(f"the {what} is empty")
    return text


#: A long number as a spreadsheet shows it in a column of general format, and saves it so: 2.02603E+14.
_SHORTENED_NUMBER = re.compile(r"[0-9](\.[0-9]+)?E\+[0-9]+", re.IGNORECASE)


def _identifier_cell(text: str, what: str) -> str:
    """`text` when it is an identifier (`check_identifier`) and not a long number a spreadsheet cut short:
    its other digits are lost, and every reference so cut would read as one and the same."""
    if _SHORTENED_NUMBER.fullmatch(check_identifier(text, what=what)):
        raise InputError(
            f"{what} {text!r} is a number a spreadsheet cut short; format the column as text, "
            "restore its digits and save again"
        )
    return text


#: The year-first date a spreadsheet of Chinese locale writes for a date cell saved as CSV (2026/3/1).
_SPREADSHEET_DATE = re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})")


def _payment_date(text: object) -> int:
    """A date (YYYY-MM-DD, or YYYY/M/D as a spreadsheet writes it) or an ISO-8601 time with offset."""
    found = _SPREADSHEET_DATE.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        return parse_instant(text, what="date")
    return calendar_day(int(found[1]), int(found[2]), int(found[3]), written=found[0], what="date")


def _milestone(text: str) -> int | None:
    if text == "":
        return None
    if not re.fullmatch(r"[0-9]{1,9}", text):  # ASCII digits: str.isdigit also takes "²", which int() refuses
        raise InputError(f"milestone must be a 0-based index, not {text!r}")
    return int(text)


def _evidence(text: str) -> bytes:
    if text == "":
        return b"\0" * 32
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise InputError("evidence must be the SHA-256 of the evidence document (64 hexadecimal digits)")
    return value


# --- checking -------------------------------------------------------------------------------


@dataclass
class Checked:
    to_send: list[Row]
    replays: list[Row]
    problems: list[Problem]
    #: The rows among the problems whose reference is recorded with other data.
    conflicts: list[Row] = field(default_factory=list)

    def explained(self, recorded: dict[str, SettlementInput]) -> list[Problem]:
        """The problems, each conflict saying what its row changes of the settlement `recorded` under its
        reference (a row correcting a recorded payment needs a reference of its own)."""
        why: dict[int, list[str]] = {}
        for row in self.conflicts:
            was = recorded.get(row.settlement.ref)
            why[row.line] = [] if was is None else row.settlement.differences(was)
        return [Problem(p.line, with_differences(p.message, why.get(p.line, [])), p.raw) for p in self.problems]


def check_rows(rows: list[Row], state: MarketState, *, now: int) -> Checked:
    """Check each row against the chain's state and the rows before it, as the contracts would."""
    out = Checked([], [], [])
    first_line: dict[str, int] = {}
    pending_milestone: dict[tuple[str, int], int] = defaultdict(int)
    pending_royalty: dict[tuple[str, str], int] = defaultdict(int)
    received_after: dict[str, int] = {}  # contract -> received on chain and in the rows checked so far
    for row in rows:
        s = row.settlement
        problem = None
        if s.ref in first_line:
            problem = f"reference {s.ref} already appears on line {first_line[s.ref]}"
        else:
            first_line[s.ref] = row.line
        contract = state.contracts.get(s.contract)
        if problem is None and contract is None:
            problem = f"there is no contract {s.contract}"
        if problem is None and contract is not None and s.milestone is None and s.period is None:
            if len(contract.milestones) == 1:
                s = SettlementInput(**{**s.__dict__, "milestone": 0})
                row = Row(row.line, s, row.raw)
            else:
                problem = f"contract {s.contract} has {len(contract.milestones)} milestones: say which one"
        recorded = state.recorded.get(s.ref.encode("utf-8").ljust(32, b"\0"))
        if problem is None and recorded is not None:
            if recorded == row.data_hash:
                out.replays.append(row)
                continue
            problem = f"payment reference {s.ref} was already recorded with different data"
            out.conflicts.append(row)
        if problem is None and contract is not None:
            problem = _check_against_contract(s, contract, now, pending_milestone, pending_royalty)
        if problem is not None:
            out.problems.append(Problem(row.line, problem, row.raw))
        else:
            assert contract is not None
            received = received_after.get(s.contract)
            received = (contract.received if received is None else received) + s.amount
            received_after[s.contract] = received
            bound, checks = _gas_bound(s, contract, state.thresholds, received, pending_milestone, pending_royalty)
            out.to_send.append(Row(row.line, s, row.raw, bound, contract.rules, checks))
    return out


def _gas_bound(
    s: SettlementInput,
    contract: ContractState,
    thresholds: dict[str, int],
    received_after: int,
    pending_milestone: dict[tuple[str, int], int],
    pending_royalty: dict[tuple[str, str], int],
) -> tuple[int, tuple[str, ...]]:
    """The most gas a checked row can cost in a batch of its own, given what was paid before it (on chain
    and earlier in the file), and the rules it is only checked against; `received_after` and the
    pending amounts already include the row."""
    if s.period is not None:
        slot_paid_before = contract.royalties[s.period][1] + pending_royalty[(s.contract, s.period)] - s.amount
    else:
        assert s.milestone is not None
        slot_paid_before = contract.milestones[s.milestone].paid + pending_milestone[(s.contract, s.milestone)]
        slot_paid_before -= s.amount
    gas = FIRST_PAYMENT_GAS_BOUND if slot_paid_before == 0 else LATER_PAYMENT_GAS_BOUND
    checks: list[str] = []
    for rule in contract.rules:
        threshold = thresholds.get(rule)
        # a rule published later than this check makes the batch fail for gas: it is checked and sent again
        can_award = rule in PER_MEMBER_YEAR_RULES or (threshold is not None and received_after >= threshold)
        if can_award:
            gas += AWARD_GAS_BOUND
        else:
            gas += RULE_CHECK_GAS_BOUND
            checks.append(rule)
    return gas, tuple(checks)


def _check_against_contract(
    s: SettlementInput,
    contract: Any,
    now: int,
    pending_milestone: dict[tuple[str, int], int],
    pending_royalty: dict[tuple[str, str], int],
) -> str | None:
    if s.amount == 0:
        return "the amount must be more than zero"
    if s.paid_at > now:
        return f"the date {format_beijing(s.paid_at)} is in the future"
    if s.paid_at < contract.signed:
        return f"the payment is dated {format_beijing(s.paid_at)}, before contract {s.contract} was signed"
    if s.period is not None:
        if s.period not in contract.royalties:
            return f"no revenue is reported for period {s.period} of contract {s.contract}"
        due, paid = contract.royalties[s.period]
        key = (s.contract, s.period)
        outstanding = due - paid - pending_royalty[key]
        if s.amount > outstanding:
            return (
                f"{readable_yuan(s.amount)} yuan is more than the {readable_yuan(outstanding)} yuan "
                "of royalty still due"
            )
        pending_royalty[key] += s.amount
        return None
    assert s.milestone is not None
    if s.milestone >= len(contract.milestones):
        return f"contract {s.contract} has no milestone {s.milestone}"
    milestone = contract.milestones[s.milestone]
    if contract.needs_achievement and not milestone.achieved:
        return f"milestone {s.milestone} of contract {s.contract} has not been recorded as achieved"
    key2 = (s.contract, s.milestone)
    outstanding = milestone.due - milestone.paid - pending_milestone[key2]
    if s.amount > outstanding:
        return (
            f"a payment of {readable_yuan(s.amount)} yuan is more than the {readable_yuan(outstanding)} yuan still due "
            f"on milestone {s.milestone} of contract {s.contract}"
        )
    pending_milestone[key2] += s.amount
    return None


# --- sending --------------------------------------------------------------------------------


def encode_batch(rows: list[Row]) -> bytes:
    """Calldata of `recordBatch(Settlement[])`.

    A Settlement is a static struct of eight 32-byte words, so the array is its offset, its length
    and the packed settlements in order.
    """
    head = RECORD_BATCH_SELECTOR + (32).to_bytes(32, "big") + len(rows).to_bytes(32, "big")
    return head + b"".join(pack_settlement(row.settlement.as_tuple()) for row in rows)


class BatchGas:
    """The gas bound of a batch as rows join it: each row's own bound, less what an earlier row of the
    same batch already paid for (`WARM_SLOT_SAVING`, `RULE_MEMO_GAS_BOUND`). The ledger's memo keeps,
    per rule, the last date it asked about; `_asked` follows it row by row."""

    def __init__(self) -> None:
        self.total = TX_OVERHEAD_BOUND
        self._slots: set[tuple[str, int | str | None]] = set()
        self._asked: dict[str, int] = {}

    def cost(self, row: Row) -> int:
        """What `row` adds if it joins the batch now."""
        gas = row.gas_bound
        if row.slot in self._slots:
            gas -= WARM_SLOT_SAVING
        paid_at = row.settlement.paid_at
        memo_hits = sum(1 for rule in row.checks if self._asked.get(rule) == paid_at)
        return gas - memo_hits * (RULE_CHECK_GAS_BOUND - RULE_MEMO_GAS_BOUND)

    def add(self, row: Row, cost: int) -> None:
        self.total += cost
        self._slots.add(row.slot)
        for rule in row.rules:
            self._asked[rule] = row.settlement.paid_at


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

    def send(self, rows: list[Row], result: ImportResult) -> list[Row]:
        """Send `rows` in batches, a bounded number in flight; returns rows of batches that failed."""
        batches = self.plan(rows)
        in_flight: list[tuple[int, list[Row], Prepared]] = []
        failed: list[Row] = []
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

    def _offer(self, entry: tuple[int, list[Row], Prepared]) -> bool:
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

    def _offer_untaken(self, in_flight: list[tuple[int, list[Row], Prepared]]) -> None:
        """Send the batches the pool had no room for, oldest first, until it has none again."""
        waiting = [entry for entry in in_flight if entry[0] in self._untaken]
        self._untaken.clear()
        for position, entry in enumerate(waiting):
            if not self._offer(entry):
                self._untaken.update(number for number, _, _ in waiting[position:])
                return

    def _resend_lost(self, in_flight: list[tuple[int, list[Row], Prepared]]) -> None:
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

    def plan(self, rows: list[Row]) -> list[tuple[list[Row], int]]:
        """Batches whose gas bounds (`BatchGas`) fit the batch gas (never above the transaction cap or
        the chain's block gas limit), each with its bound."""
        batches: list[tuple[list[Row], int]] = []
        current: list[Row] = []
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

    def _gas_for(self, batch: list[Row], bound: int, data: bytes) -> int:
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
        self, in_flight: list[tuple[int, list[Row], Prepared]], result: ImportResult, failed: list[Row]
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
        still: list[tuple[int, list[Row], Prepared]] = []
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


def write_rejects(path: Path, problems: list[Problem]) -> None:
    """The bad rows with their line and problem, as CSV; written before anything is sent. A cell that a
    spreadsheet would run as a formula gets an apostrophe, which the import takes off again."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow([*PAYMENT_COLUMNS, *REJECT_COLUMNS])
    for p in problems:
        writer.writerow(
            [spreadsheet_cell(p.raw.get(c, "")) for c in PAYMENT_COLUMNS] + [p.line, spreadsheet_cell(p.message)]
        )
    # A byte-order mark tells Excel and WPS the file is UTF-8; the import reads it back the same way.
    write_file(path, text.getvalue().encode("utf-8-sig"), "rejected rows")


@dataclass
class FileReview:
    """What importing a file would do, as the chain stands: the rows it would send, those already
    recorded (replays), the bad ones with their problems, the suspended parties whose points the rows
    would withhold (address -> rows)."""

    checked: Checked
    problems: list[Problem]
    suspended_parties: dict[str, int]

    @property
    def rows(self) -> int:
        """Every row of the file: each is to send, a replay or a problem."""
        return len(self.checked.to_send) + len(self.checked.replays) + len(self.problems)

    @classmethod
    def of(
        cls,
        rows: list[Row],
        malformed: list[Problem],
        state: MarketState,
        *,
        now: int,
        recorded: Callable[[set[str]], dict[str, SettlementInput]] | None = None,
    ) -> FileReview:
        checked = check_rows(rows, state, now=now)
        if checked.conflicts and recorded is not None:  # say what differs from what is recorded
            checked.problems = checked.explained(recorded({r.settlement.ref for r in checked.conflicts}))
        problems = sorted(malformed + checked.problems, key=lambda p: p.line)
        paid: Counter[str] = Counter()
        if state.suspended:  # whose points these rows would not pay
            paid.update(p for row in checked.to_send for p in state.suspended_parties(row.settlement.contract))
        return cls(checked, problems, dict(sorted(paid.items())))

    def as_json(self, *, name_of: Callable[[str], str] = str) -> dict[str, Any]:
        """What an import would do, for a program; `name_of` names the suspended parties (their address
        by default)."""
        return {
            "rows": self.rows,
            "to_record": len(self.checked.to_send),
            "replayed": len(self.checked.replays),
            "rejected": [p.as_json() for p in self.problems],
            "suspended_parties": {name_of(a): n for a, n in self.suspended_parties.items()},
            "sent": 0,
        }


def forecast_points(engine: AwardEngine, rows: list[Row]) -> dict[str, int]:
    """The points (centipoints, by rule) `rows` would issue, computed by `engine`, which has replayed the
    recorded history: the independent engine of the verifier, never the contracts. `engine` is used up."""
    points: dict[str, int] = defaultdict(int)
    for row in rows:
        s = row.settlement
        for award in engine.settle(ref=s.ref, contract_id=s.contract, amount=s.amount, paid_at=s.paid_at):
            points[award.rule_id] += award.amount
    return dict(sorted(points.items()))


def review_file(
    path: Path,
    *,
    state: MarketState,
    now: int,
    recorded: Callable[[set[str]], dict[str, SettlementInput]] | None = None,
) -> FileReview:
    """Check every row of a payments file as an import would, sending nothing."""
    rows, malformed = read_rows(path)
    return FileReview.of(rows, malformed, state, now=now, recorded=recorded)


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

"""Checking a file's payments before anything is sent: each row against the chain's state and the rows
before it, as the contracts would check it, and the most gas each accepted row can cost, by which the
import plans its batches."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.config import TX_GAS_CAP
from ledger.domain.dates import format_beijing
from ledger.domain.engine import PER_MEMBER_YEAR_RULES, AwardEngine
from ledger.domain.money import readable_yuan
from ledger.errors import with_differences
from ledger.format import near_misses, reported_periods
from ledger.services.client import SettlementInput
from ledger.services.market_state import ContractState, MarketState
from ledger.services.payment_rows import Problem, Row, read_rows

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


def rows_fitting(gas: int) -> int:
    """The most rows a batch within `gas` may hold (at least one): every row at the worst case fits."""
    return max(1, (gas - TX_OVERHEAD_BOUND) // WORST_CASE_SETTLEMENT_GAS)


#: The most rows one batch may hold under EIP-7825's cap.
MAX_BATCH = rows_fitting(TX_GAS_CAP)


@dataclass(frozen=True)
class CheckedRow(Row):
    """A row the contracts would accept, with what planning its batch needs."""

    #: the most gas the row can cost in a batch of its own (see `BatchGas` for rows sharing a batch)
    gas_bound: int
    #: the rate rules the row is evaluated against, and those of them that cannot issue points
    rules: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()


@dataclass
class Checked:
    """A file's rows sorted by the check: to send, replays (recorded with the same data), and problems."""

    to_send: list[CheckedRow]
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


def check_rows(rows: Sequence[Row], state: MarketState, *, now: int) -> Checked:
    """Check each row against the chain's state and the rows before it, as the contracts would."""
    out = Checked([], [], [])
    first: dict[str, Row] = {}  # reference -> the row that gave it first
    pending_milestone: dict[tuple[str, int], int] = defaultdict(int)
    pending_royalty: dict[tuple[str, str], int] = defaultdict(int)
    received_after: dict[str, int] = {}  # contract -> received on chain and in the rows checked so far
    for row in rows:
        s = row.settlement
        problem = None
        earlier = first.setdefault(s.ref, row)
        if earlier is not row:
            problem = f"reference {s.ref} already appears on line {earlier.line}"
            if s == earlier.settlement:  # the same receipt twice, as two bank exports that overlap give
                problem += ", with the same data: take one of the two lines out"
        contract = state.contracts.get(s.contract)
        if problem is None and contract is None:
            problem = f"there is no contract {s.contract}" + near_misses(s.contract, state.contracts)
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
            out.to_send.append(CheckedRow(row.line, s, row.raw, bound, contract.rules, checks))
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
    contract: ContractState,
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
            return f"no revenue is reported for period {s.period} of contract {s.contract}" + reported_periods(
                contract.royalties
            )
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


class BatchGas:
    """The gas bound of a batch as rows join it: each row's own bound, less what an earlier row of the
    same batch already paid for (`WARM_SLOT_SAVING`, `RULE_MEMO_GAS_BOUND`). The ledger's memo keeps,
    per rule, the last date it asked about; `_asked` follows it row by row."""

    def __init__(self) -> None:
        self.total = TX_OVERHEAD_BOUND
        self._slots: set[tuple[str, int | str | None]] = set()
        self._asked: dict[str, int] = {}

    def cost(self, row: CheckedRow) -> int:
        """What `row` adds if it joins the batch now."""
        gas = row.gas_bound
        if row.slot in self._slots:
            gas -= WARM_SLOT_SAVING
        paid_at = row.settlement.paid_at
        memo_hits = sum(1 for rule in row.checks if self._asked.get(rule) == paid_at)
        return gas - memo_hits * (RULE_CHECK_GAS_BOUND - RULE_MEMO_GAS_BOUND)

    def add(self, row: CheckedRow, cost: int) -> None:
        self.total += cost
        self._slots.add(row.slot)
        for rule in row.rules:
            self._asked[rule] = row.settlement.paid_at


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
        """Check `rows` against `state` at `now` (with the rows `malformed` already found); `recorded` finds
        the settlements some references hold, for a conflicting row's problem to say what differs."""
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


def forecast_points(engine: AwardEngine, rows: Sequence[Row]) -> dict[str, int]:
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

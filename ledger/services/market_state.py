"""The state of contracts and payment references, rebuilt from the event log.

Bulk import checks every row against this state (and against the rows before it in the same
file) before anything is sent; the contracts check again when the batches arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from eth_utils.crypto import keccak

from ledger.chain.encoding import id_text
from ledger.chain.logs import LogEvent
from ledger.domain.dates import overdue
from ledger.domain.engine import contract_parties, rate_rules
from ledger.domain.types import MILESTONE_UNSPECIFIED, ContractKind, MemberKind, PaymentPlan

SETTLEMENT_TYPES = ["(bytes32,bytes32,uint32,bytes32,uint256,uint8,uint40,bytes32)"]


SettlementTuple = tuple[bytes, bytes, int, bytes, int, int, int, bytes]


def pack_settlement(row: SettlementTuple) -> bytes:
    """abi.encode of the static Settlement struct: its eight fields as 32-byte words, in order.

    (eth_abi gives the same bytes far slower; tests/unit/test_import_rows.py checks they agree.)
    """
    ref, contract, milestone, period, amount, kind, paid_at, evidence = row
    return b"".join(
        (
            bytes(ref),
            bytes(contract),
            milestone.to_bytes(32, "big"),
            bytes(period),
            amount.to_bytes(32, "big"),
            kind.to_bytes(32, "big"),
            paid_at.to_bytes(32, "big"),
            bytes(evidence),
        )
    )


def settlement_hash(row: SettlementTuple) -> bytes:
    """keccak256(abi.encode(settlement)), exactly as SettlementLedger stores it under the reference."""
    return keccak(pack_settlement(row))


@dataclass
class MilestoneState:
    """A milestone as the recorded events leave it: due, due date, paid so far, achieved or not."""

    due: int
    due_date: int
    paid: int = 0
    achieved: bool = False

    def overdue(self, now: int) -> bool:
        """`dates.overdue`, at `now`."""
        return overdue(due=self.due, paid=self.paid, due_date=self.due_date, now=now)


@dataclass
class ContractState:
    """A contract as the recorded events leave it: terms, parties, the rate rules its payments are
    evaluated against, milestones and royalty periods."""

    kind: ContractKind
    plan: PaymentPlan
    signed: int
    royalty_bps: int
    seller: str
    buyer: str
    broker: str | None = None
    rules: tuple[str, ...] = ()
    milestones: list[MilestoneState] = field(default_factory=list)
    royalties: dict[str, list[int]] = field(default_factory=dict)  # period -> [due, paid]

    @property
    def received(self) -> int:
        """Everything recorded on the contract: the basis of its per-contract rate rules."""
        return sum(m.paid for m in self.milestones) + sum(paid for _, paid in self.royalties.values())

    @property
    def value(self) -> int:
        """The sum of its milestones (royalties come on top)."""
        return sum(m.due for m in self.milestones)

    @property
    def outstanding(self) -> int:
        """What is still due: on its milestones, and on the royalty periods reported."""
        return sum(m.due - m.paid for m in self.milestones) + sum(due - paid for due, paid in self.royalties.values())

    @property
    def parties(self) -> tuple[str, ...]:
        """Who its payments may pay (`contract_parties`)."""
        return contract_parties(self.seller, self.buyer, self.broker)

    @property
    def needs_achievement(self) -> bool:
        return self.plan in (PaymentPlan.STAGED, PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY)


@dataclass
class MarketState:
    """What the chain has recorded, rebuilt from its event log: enough to check a payment as the contracts
    would, before it is sent."""

    contracts: dict[str, ContractState] = field(default_factory=dict)
    recorded: dict[bytes, bytes] = field(default_factory=dict)  # ref (bytes32) -> data hash
    members: dict[str, tuple[MemberKind, bool]] = field(default_factory=dict)  # address -> (kind, in region)
    suspended: set[str] = field(default_factory=set)  # addresses of suspended members
    #: rule id -> the lowest threshold any published version of it has (below it, no version awards)
    thresholds: dict[str, int] = field(default_factory=dict)

    def suspended_parties(self, contract_id: str) -> list[str]:
        """The contract's parties suspended now: a payment to it is recorded, their points withheld."""
        contract = self.contracts.get(contract_id)
        return [] if contract is None else [party for party in contract.parties if party in self.suspended]

    @classmethod
    def from_events(cls, events: Iterable[LogEvent]) -> MarketState:
        state = cls()
        for event in events:
            state.apply(event)
        return state

    def apply(self, e: LogEvent) -> None:
        """Take one recorded event into the state."""
        a = e.args
        if e.name == "MemberEnrolled":
            self.members[a["account"]] = (MemberKind(a["kind"]), bool(a["inRegion"]))
        elif e.name == "MemberSuspended":
            self.suspended.add(a["account"])
        elif e.name == "MemberReinstated":
            self.suspended.discard(a["account"])
        elif e.name == "ContractRegistered":
            kind, plan = ContractKind(a["kind"]), PaymentPlan(a["plan"])
            seller_kind = self.members.get(a["seller"], (MemberKind.NONE, False))[0]
            buyer_in_region = self.members.get(a["buyer"], (MemberKind.NONE, False))[1]
            broker = a["broker"] if int(a["broker"], 16) != 0 else None
            self.contracts[id_text(a["contractId"])] = ContractState(
                kind=kind,
                plan=plan,
                signed=a["signedAt"],
                royalty_bps=a["royaltyBps"],
                seller=a["seller"],
                buyer=a["buyer"],
                broker=broker,
                rules=rate_rules(kind, plan, seller_kind, buyer_in_region, broker is not None),
            )
        elif e.name == "RuleVersionPublished":
            rule = id_text(a["ruleId"])
            self.thresholds[rule] = min(self.thresholds.get(rule, a["threshold"]), a["threshold"])
        elif e.name == "MilestoneAdded":
            contract = self.contracts[id_text(a["contractId"])]
            contract.milestones.append(MilestoneState(due=a["amount"], due_date=a["dueDate"]))
        elif e.name == "MilestoneAchieved":
            self.contracts[id_text(a["contractId"])].milestones[a["index"]].achieved = True
        elif e.name == "RevenueReported":
            self.contracts[id_text(a["contractId"])].royalties[id_text(a["period"])] = [a["royaltyDue"], 0]
        elif e.name == "SettlementRecorded":
            row = (
                a["ref"],
                a["contractId"],
                a["milestone"],
                a["period"],
                a["amount"],
                a["kind"],
                a["paidAt"],
                a["evidenceHash"],
            )
            self.recorded[bytes(a["ref"])] = settlement_hash(row)
            paid_on = self.contracts.get(id_text(a["contractId"]))
            if paid_on is None:
                return
            if bytes(a["period"]).strip(b"\0"):
                paid_on.royalties[id_text(a["period"])][1] += a["amount"]
            else:
                index = 0 if a["milestone"] == MILESTONE_UNSPECIFIED else a["milestone"]
                paid_on.milestones[index].paid += a["amount"]

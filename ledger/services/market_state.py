"""The state of contracts and payment references, rebuilt from the event log.

Bulk import checks every row against this state (and against the rows before it in the same
file) before anything is sent; the contracts check again when the batches arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from ledger.chain.encoding import id_text
from ledger.chain.logs import LogEvent
from ledger.domain.types import MILESTONE_UNSPECIFIED, ContractKind, PaymentPlan

SETTLEMENT_TYPES = ["(bytes32,bytes32,uint32,bytes32,uint256,uint8,uint40,bytes32)"]


def settlement_hash(row: tuple[bytes, bytes, int, bytes, int, int, int, bytes]) -> bytes:
    """keccak256(abi.encode(settlement)), exactly as SettlementLedger stores it under the reference."""
    return keccak(abi_encode(SETTLEMENT_TYPES, [row]))


@dataclass
class MilestoneState:
    due: int
    due_date: int
    paid: int = 0
    achieved: bool = False


@dataclass
class ContractState:
    kind: ContractKind
    plan: PaymentPlan
    signed: int
    royalty_bps: int
    milestones: list[MilestoneState] = field(default_factory=list)
    royalties: dict[str, list[int]] = field(default_factory=dict)  # period -> [due, paid]

    @property
    def needs_achievement(self) -> bool:
        return self.plan in (PaymentPlan.STAGED, PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY)


@dataclass
class MarketState:
    contracts: dict[str, ContractState] = field(default_factory=dict)
    recorded: dict[bytes, bytes] = field(default_factory=dict)  # ref (bytes32) -> data hash
    latest_block: int = 0

    @classmethod
    def from_events(cls, events: Iterable[LogEvent]) -> MarketState:
        state = cls()
        for event in events:
            state.apply(event)
        return state

    def apply(self, e: LogEvent) -> None:
        a = e.args
        self.latest_block = max(self.latest_block, e.block)
        if e.name == "ContractRegistered":
            self.contracts[id_text(a["contractId"])] = ContractState(
                kind=ContractKind(a["kind"]),
                plan=PaymentPlan(a["plan"]),
                signed=a["signedAt"],
                royalty_bps=a["royaltyBps"],
            )
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

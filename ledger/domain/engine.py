"""The award engine: an independent, pure-Python implementation of the points rules.

It is fed the recorded facts in the order they were recorded (enrolments, suspensions, policy
versions, contracts, settlements, attestations) and says which points each fact should have
earned. It never looks at an on-chain award.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from ledger.domain.dates import beijing_year
from ledger.domain.money import Centipoints, Fen
from ledger.domain.policy import BPS_DENOMINATOR, PolicyHistory, RuleParams
from ledger.domain.types import AppointmentTitle, ContractKind, MemberKind, PaymentPlan

LANDING_KINDS = frozenset({ContractKind.TRANSFER, ContractKind.LICENSE, ContractKind.EQUITY})
RESEARCH_KINDS = frozenset({MemberKind.UNIVERSITY, MemberKind.INSTITUTE})
USE_FIRST_PLANS = frozenset({PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY, PaymentPlan.DEFERRED})
#: Rules whose basis is a member's payments in a calendar year (every other rate rule's basis is the
#: contract's cumulative received amount).
PER_MEMBER_YEAR_RULES = ("R15-USER", "R15-PROVIDER")


#: Who earns by each rate rule: the party of the contract, by its field name.
RECIPIENT = {
    "R11-LANDING": "seller",
    "R3-LICENSOR": "seller",
    "R3-LICENSEE": "buyer",
    "R15-USER": "buyer",
    "R15-PROVIDER": "seller",
    "R16-BROKER": "broker",
}


@cache  # a handful of distinct arguments, asked once per settlement
def rate_rules(
    kind: ContractKind, plan: PaymentPlan, seller_kind: MemberKind, buyer_in_region: bool, has_broker: bool
) -> tuple[str, ...]:
    """The rate rules each payment on such a contract is evaluated against, in the order awards are made."""
    rules: list[str] = []
    if kind in LANDING_KINDS and seller_kind in RESEARCH_KINDS and buyer_in_region:
        rules.append("R11-LANDING")
    if kind is ContractKind.LICENSE and plan in USE_FIRST_PLANS:
        rules += ["R3-LICENSOR", "R3-LICENSEE"]
    if kind is ContractKind.SERVICE:
        rules += PER_MEMBER_YEAR_RULES
    if has_broker:
        rules.append("R16-BROKER")
    return tuple(rules)


def contract_parties(seller: str, buyer: str, broker: str | None) -> tuple[str, ...]:
    """Who a contract's payments may pay: seller, buyer and broker (if any), each member once (the
    registry refuses a party as its own broker; the engine does not rely on it)."""
    return tuple(dict.fromkeys(p for p in (seller, buyer, broker) if p is not None))


def cumulative_award(basis: int, *, rate_bps: int, threshold: int) -> int:
    """f(B) = B >= threshold ? floor(B * bps / 10000) : 0, in centipoints for a basis in fen."""
    if basis < threshold:
        return 0
    return basis * rate_bps // BPS_DENOMINATOR


def award_delta(before: int, after: int, params: RuleParams) -> Centipoints:
    """What moving the basis from `before` to `after` earns under `params`."""
    return Centipoints(
        cumulative_award(after, rate_bps=params.rate_bps, threshold=params.threshold)
        - cumulative_award(before, rate_bps=params.rate_bps, threshold=params.threshold)
    )


@dataclass(frozen=True, slots=True)
class Award:
    """Points that a fact should have earned one member under one rule."""

    member: str
    rule_id: str
    amount: Centipoints
    policy_version: int
    source: str
    #: For a rate rule, the basis in fen before and after the fact (what a statement explains the award
    #: by); not part of what two awards must agree on.
    basis: tuple[int, int] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MemberFacts:
    kind: MemberKind
    in_region: bool


@dataclass
class ContractFacts:
    kind: ContractKind
    plan: PaymentPlan
    seller: str
    buyer: str
    broker: str | None
    received: Fen = Fen(0)


@dataclass
class AwardEngine:
    """Replays facts in recorded order and computes the awards they earn.

    Member and contract identifiers are opaque strings (addresses on chain, names in tests).
    """

    policy: PolicyHistory = field(default_factory=PolicyHistory)
    members: dict[str, MemberFacts] = field(default_factory=dict)
    suspended: set[str] = field(default_factory=set)
    contracts: dict[str, ContractFacts] = field(default_factory=dict)
    year_basis: dict[tuple[str, str, int], int] = field(default_factory=lambda: defaultdict(int))
    startup_awarded: set[str] = field(default_factory=set)
    appointment_awarded: set[tuple[str, AppointmentTitle]] = field(default_factory=set)

    # --- facts that shape eligibility -------------------------------------------------------

    def publish(self, rule_id: str, params: RuleParams) -> None:
        self.policy.publish(rule_id, params)

    def enrol(self, member: str, *, kind: MemberKind, in_region: bool) -> None:
        self.members[member] = MemberFacts(kind=kind, in_region=in_region)

    def suspend(self, member: str) -> None:
        self.suspended.add(member)

    def reinstate(self, member: str) -> None:
        self.suspended.discard(member)

    def register_contract(
        self, contract_id: str, *, kind: ContractKind, plan: PaymentPlan, seller: str, buyer: str, broker: str | None
    ) -> None:
        self.contracts[contract_id] = ContractFacts(kind=kind, plan=plan, seller=seller, buyer=buyer, broker=broker)

    # --- facts that earn points -------------------------------------------------------------

    def settle(self, *, ref: str, contract_id: str, amount: Fen, paid_at: int) -> list[Award]:
        """The awards of one recorded settlement (payment, equity valuation or royalty)."""
        contract = self.contracts[contract_id]
        before = contract.received
        after = Fen(before + amount)
        contract.received = after
        awards: list[Award] = []

        def rate(rule_id: str, member: str, b0: int, b1: int) -> None:
            params = self.policy.rule_at(rule_id, paid_at)
            if params is None or not params.in_window(paid_at):
                return
            points = award_delta(b0, b1, params)
            if points > 0 and member not in self.suspended:
                awards.append(Award(member, rule_id, points, params.version, ref, basis=(b0, b1)))

        seller, buyer = self.members.get(contract.seller), self.members.get(contract.buyer)
        rules = rate_rules(
            contract.kind,
            contract.plan,
            seller.kind if seller else MemberKind.NONE,
            buyer is not None and buyer.in_region,
            contract.broker is not None,
        )
        for rule_id in rules:
            member: str = getattr(contract, RECIPIENT[rule_id])
            if rule_id in PER_MEMBER_YEAR_RULES:
                key = (rule_id, member, beijing_year(paid_at))
                b0 = self.year_basis[key]
                self.year_basis[key] = b0 + amount
                rate(rule_id, member, b0, b0 + amount)
            else:
                rate(rule_id, member, before, after)
        return awards

    def attest_startup_revenue(self, *, attestation_id: str, member: str, revenue: Fen, at: int) -> list[Award]:
        """R11-SME: a fixed award, once per enterprise member, for revenue at or above the threshold."""
        if member in self.startup_awarded or not self.is_enterprise(member):
            return []
        params = self.policy.rule_at("R11-SME", at)
        if params is None or not params.in_window(at) or revenue < params.threshold or params.amount == 0:
            return []
        self.startup_awarded.add(member)
        if member in self.suspended:
            return []
        return [Award(member, "R11-SME", params.amount, params.version, attestation_id)]

    def is_enterprise(self, member: str) -> bool:
        """Whether `member` is enrolled as an enterprise: only one is attested as a start-up (the ledger refuses
        any other)."""
        facts = self.members.get(member)
        return facts is not None and facts.kind is MemberKind.ENTERPRISE

    def attest_appointment(self, *, attestation_id: str, member: str, title: AppointmentTitle, at: int) -> list[Award]:
        """R6-TALENT: a fixed award, once per (member, title), to an enrolled member."""
        if (member, title) in self.appointment_awarded or member not in self.members:
            return []
        params = self.policy.rule_at("R6-TALENT", at)
        if params is None or not params.in_window(at) or params.amount == 0:
            return []
        self.appointment_awarded.add((member, title))
        if member in self.suspended:
            return []
        return [Award(member, "R6-TALENT", params.amount, params.version, attestation_id)]

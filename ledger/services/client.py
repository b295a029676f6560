"""Typed operations on a deployed ledger: what the CLI and the scenario runner call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from ledger.chain.deploy import Contracts
from ledger.chain.encoding import attestation_id, id_text, text_id, uscc_hash
from ledger.chain.logs import LogEvent, account_topic, decode_log, event_topic, iter_logs
from ledger.chain.session import ChainSession, Sent
from ledger.domain.dates import format_beijing, overdue
from ledger.domain.engine import contract_parties
from ledger.domain.money import Centipoints, Fen, readable_yuan
from ledger.domain.policy import PolicyDocument, RuleParams
from ledger.domain.scenario import ContractDecl
from ledger.domain.types import (
    MILESTONE_UNSPECIFIED,
    AppointmentTitle,
    ContractKind,
    MemberKind,
    MemberStatus,
    PaymentPlan,
    SettlementKind,
)
from ledger.format import differences

if TYPE_CHECKING:
    from web3.contract.contract import ContractFunction

ZERO_ADDRESS = "0x" + "00" * 20
ZERO32 = b"\0" * 32


@dataclass(frozen=True)
class Enrolment:
    """A member as it is enrolled: its account, kind, region, credit code (hashed on chain) and the
    SHA-256 fingerprint of its certificate."""

    account: str
    kind: MemberKind
    in_region: bool
    uscc: str | None
    fingerprint: bytes = ZERO32


@dataclass(frozen=True)
class MilestoneInput:
    title: str
    amount: Fen
    due: int


@dataclass(frozen=True)
class ContractInput:
    """A technology contract as it is registered: parties by address, dates as Unix times, amounts in fen."""

    id: str
    kind: ContractKind
    plan: PaymentPlan
    seller: str
    buyer: str
    signed: int
    milestones: tuple[MilestoneInput, ...]
    broker: str | None = None
    instrument: str | None = None
    royalty_bps: int = 0
    terms_hash: bytes = ZERO32

    @classmethod
    def recorded(cls, registered: dict[str, Any], milestones: list[dict[str, Any]]) -> ContractInput:
        """The registration a `ContractRegistered` event and its `MilestoneAdded` events record."""
        broker = registered["broker"]
        return cls(
            id=id_text(registered["contractId"]),
            kind=ContractKind(registered["kind"]),
            plan=PaymentPlan(registered["plan"]),
            seller=registered["seller"],
            buyer=registered["buyer"],
            signed=registered["signedAt"],
            milestones=tuple(
                MilestoneInput(m["title"], Fen(m["amount"]), m["dueDate"]) for m in sorted(milestones, key=_index)
            ),
            broker=None if int(broker, 16) == 0 else broker,
            instrument=id_text(registered["instrumentId"]) if bytes(registered["instrumentId"]) != ZERO32 else None,
            royalty_bps=registered["royaltyBps"],
            terms_hash=bytes(registered["termsHash"]),
        )

    def differences(self, recorded: ContractInput, *, name_of: Callable[[str], str]) -> list[str]:
        """What this registration says that the one `recorded` under its id does not, field by field,
        parties by the names `name_of` gives them."""

        def party(address: str | None) -> str:
            return "none" if address is None else name_of(to_checksum_address(address))

        def stages(c: ContractInput) -> str:
            return ", ".join(
                f"{m.title!r} {readable_yuan(m.amount)} yuan due {format_beijing(m.due)}" for m in c.milestones
            )

        return differences(
            [
                ("kind", self.kind.label, recorded.kind.label),
                ("plan", self.plan.label, recorded.plan.label),
                ("seller", party(self.seller), party(recorded.seller)),
                ("buyer", party(self.buyer), party(recorded.buyer)),
                ("broker", party(self.broker), party(recorded.broker)),
                ("instrument", self.instrument or "none", recorded.instrument or "none"),
                ("signing date", format_beijing(self.signed), format_beijing(recorded.signed)),
                ("royalty rate", f"{self.royalty_bps} bps", f"{recorded.royalty_bps} bps"),
                ("terms hash", _hash_text(self.terms_hash), _hash_text(recorded.terms_hash)),
                ("milestones", stages(self), stages(recorded)),
            ]
        )


def _index(milestone: dict[str, Any]) -> int:
    return int(milestone["index"])


def contract_input(decl: ContractDecl, *, address: Callable[[str], str], terms_hash: bytes = ZERO32) -> ContractInput:
    """The registration of a declared contract (scenario or CLI file), its parties resolved by `address`."""
    return ContractInput(
        id=decl.id,
        kind=decl.kind,
        plan=decl.plan,
        seller=address(decl.seller),
        buyer=address(decl.buyer),
        signed=decl.signed,
        milestones=tuple(MilestoneInput(m.title, m.amount, m.due) for m in decl.milestones),
        broker=address(decl.broker) if decl.broker else None,
        instrument=decl.instrument,
        royalty_bps=decl.royalty_bps,
        terms_hash=terms_hash,
    )


@dataclass(frozen=True)
class SettlementInput:
    """One payment; `period` set means a royalty payment, `milestone=None` the only milestone."""

    ref: str
    contract: str
    amount: Fen
    paid_at: int
    milestone: int | None = None
    period: str | None = None
    kind: SettlementKind = SettlementKind.CASH
    evidence_hash: bytes = ZERO32

    @classmethod
    def recorded(cls, args: dict[str, Any]) -> SettlementInput:
        """The settlement a `SettlementRecorded` event records."""
        period = bytes(args["period"]).rstrip(b"\0")
        return cls(
            ref=id_text(args["ref"]),
            contract=id_text(args["contractId"]),
            amount=Fen(args["amount"]),
            paid_at=args["paidAt"],
            milestone=None if period or args["milestone"] == MILESTONE_UNSPECIFIED else args["milestone"],
            period=id_text(args["period"]) if period else None,
            kind=SettlementKind(args["kind"]),
            evidence_hash=bytes(args["evidenceHash"]),
        )

    def differences(self, recorded: SettlementInput) -> list[str]:
        """What this settlement says that the one recorded under its reference does not, field by field
        ("amount 1,000.00 yuan here, 999.00 yuan recorded"): why a resend is a conflicting duplicate."""
        return differences(
            [
                ("contract", self.contract, recorded.contract),
                ("for", self._paying(), recorded._paying()),
                ("amount", f"{readable_yuan(self.amount)} yuan", f"{readable_yuan(recorded.amount)} yuan"),
                ("kind", self.kind.label, recorded.kind.label),
                ("date", format_beijing(self.paid_at), format_beijing(recorded.paid_at)),
                ("evidence", _hash_text(self.evidence_hash), _hash_text(recorded.evidence_hash)),
            ]
        )

    def _paying(self) -> str:
        """What the payment is for."""
        if self.period:
            return f"royalty period {self.period}"
        return "the only milestone" if self.milestone is None else f"milestone {self.milestone}"

    def as_tuple(self) -> tuple[Any, ...]:
        """The settlement as the ledger's `Settlement` struct, field by field (ids as bytes32)."""
        return (
            text_id(self.ref),
            text_id(self.contract),
            MILESTONE_UNSPECIFIED if self.milestone is None else self.milestone,
            text_id(self.period) if self.period else ZERO32,
            self.amount,
            int(self.kind),
            self.paid_at,
            self.evidence_hash,
        )


def _hash_text(digest: bytes) -> str:
    return "none" if digest == ZERO32 else "0x" + digest.hex()


@dataclass(frozen=True)
class Outcome:
    """The result of a write: the transaction and whether it was a harmless replay."""

    sent: Sent
    replayed: bool
    events: tuple[LogEvent, ...]


@dataclass(frozen=True)
class MemberRecord:
    address: str
    kind: MemberKind
    status: MemberStatus
    in_region: bool
    uscc_hash: bytes
    cert_fingerprint: bytes


def _member_record(address: str, profile: tuple[int, int, bool, bytes, bytes]) -> MemberRecord:
    """A member as `Membership.memberOf` answers for it."""
    kind, status, in_region, uscc_hash, cert_fingerprint = profile
    return MemberRecord(address, MemberKind(kind), MemberStatus(status), in_region, uscc_hash, cert_fingerprint)


#: The fields of `ContractRegistry.contractOf`'s answer, in order.
CONTRACT_VIEW_FIELDS = (
    "kind",
    "plan",
    "royalty_bps",
    "signed",
    "seller",
    "buyer",
    "broker",
    "instrument",
    "terms_hash",
    "value",
    "received",
    "milestone_count",
)


def _contract_view(answer: Any) -> dict[str, Any]:
    """A contract as `ContractRegistry.contractOf` answers for it, by field name."""
    out = dict(zip(CONTRACT_VIEW_FIELDS, answer, strict=True))
    out["kind"] = ContractKind(out["kind"])
    out["plan"] = PaymentPlan(out["plan"])
    out["instrument"] = id_text(out["instrument"]) if out["instrument"] != ZERO32 else None
    out["broker"] = None if int(out["broker"], 16) == 0 else out["broker"]
    return out


def _milestone_record(answer: tuple[int, int, int, bool]) -> MilestoneRecord:
    """A milestone as `ContractRegistry.milestoneOf` answers for it."""
    due, paid, due_date, achieved = answer
    return MilestoneRecord(Fen(due), Fen(paid), due_date, achieved)


@dataclass(frozen=True)
class MilestoneRecord:
    """A milestone as the contract registry holds it: due and paid (fen), due date, achieved or not."""

    due: Fen
    paid: Fen
    due_date: int
    achieved: bool

    @property
    def status(self) -> str:
        if self.paid >= self.due:
            return "paid"
        return "achieved" if self.achieved else "pending"

    def overdue(self, now: int) -> bool:
        """`dates.overdue`, at `now`."""
        return overdue(due=self.due, paid=self.paid, due_date=self.due_date, now=now)


#: Settlements or attestations one log query asks for by id (topic lists stay well within what nodes take).
SOURCES_PER_QUERY = 400


@dataclass(frozen=True)
class PointsEntry:
    """One issuance (rule, source) or redemption (purpose) of a member, as recorded, with the balance after it."""

    block: int
    recorded_at: int  # the block's time
    rule: str | None
    source: str | None
    purpose: str | None
    points: int  # negative for a redemption
    balance: int
    tx_hash: str
    #: the date of the payment or attestation behind an issuance (the rules use it), and its contract
    dated: int | None = None
    contract: str | None = None


class LedgerClient:
    """Operations on one deployment. Signers are passed per call: who signs is who acts."""

    def __init__(self, session: ChainSession, contracts: Contracts) -> None:
        self.session = session
        self.contracts = contracts
        #: Each contract's name by its address, as `decode_log` takes them.
        self.names_by_address = {address: name for name, address in self.addresses.items()}

    @property
    def addresses(self) -> dict[str, str]:
        return {name: c.address for name, c in self.contracts.all.items()}

    def _outcome(self, sent: Sent, replay_event: str) -> Outcome:
        decoded = (decode_log(dict(log), self.names_by_address) for log in sent.receipt["logs"])
        events = tuple(e for e in decoded if e is not None)
        return Outcome(sent=sent, replayed=any(e.name == replay_event for e in events), events=events)

    # --- regulator --------------------------------------------------------------------------

    def enrol(
        self,
        signer: LocalAccount,
        *,
        account: str,
        kind: MemberKind,
        in_region: bool,
        uscc: str | None,
        cert_fingerprint: bytes = ZERO32,
    ) -> Sent:
        """Enrol `account` as a member (the regulator signs); its credit code goes on chain as a hash."""
        enrolment = Enrolment(account=account, kind=kind, in_region=in_region, uscc=uscc, fingerprint=cert_fingerprint)
        return self.session.transact(signer, self._enrol(enrolment))

    def enrol_all(self, signer: LocalAccount, enrolments: Sequence[Enrolment]) -> list[Sent]:
        """Enrol several members, their transactions sent together (`ChainSession.transact_all`)."""
        return self.session.transact_all(signer, [self._enrol(e) for e in enrolments])

    def _enrol(self, e: Enrolment) -> ContractFunction:
        membership = self.contracts.membership.functions
        return membership.enrol(e.account, int(e.kind), e.in_region, uscc_hash(e.uscc), e.fingerprint)

    def suspend(self, signer: LocalAccount, account: str) -> Sent:
        return self.session.transact(signer, self.contracts.membership.functions.suspend(account))

    def reinstate(self, signer: LocalAccount, account: str) -> Sent:
        return self.session.transact(signer, self.contracts.membership.functions.reinstate(account))

    def appoint_operator(self, signer: LocalAccount, account: str) -> Sent:
        return self.session.transact(signer, self.contracts.membership.functions.appointOperator(account))

    def remove_operator(self, signer: LocalAccount, account: str) -> Sent:
        return self.session.transact(signer, self.contracts.membership.functions.removeOperator(account))

    def publish_document(self, signer: LocalAccount, document: PolicyDocument) -> Sent:
        updates = [_rule_update(spec.id, spec.params) for spec in document.rules]
        fn = self.contracts.policy.functions.publish(bytes.fromhex(document.sha256), updates)
        return self.session.transact(signer, fn)

    def publish_rules(self, signer: LocalAccount, *, source_hash: bytes, rules: dict[str, RuleParams]) -> Sent:
        updates = [_rule_update(rule_id, params) for rule_id, params in rules.items()]
        return self.session.transact(signer, self.contracts.policy.functions.publish(source_hash, updates))

    # --- operator ---------------------------------------------------------------------------

    def register_instrument(
        self, signer: LocalAccount, *, instrument_id: str, provider: str, original_value: Fen
    ) -> Sent:
        return self.session.transact(signer, self._instrument(instrument_id, provider, original_value))

    def register_instruments(self, signer: LocalAccount, instruments: Sequence[tuple[str, str, Fen]]) -> list[Sent]:
        """Register several shared instruments (id, provider, original value), their transactions sent
        together (`ChainSession.transact_all`)."""
        return self.session.transact_all(signer, [self._instrument(*instrument) for instrument in instruments])

    def _instrument(self, instrument_id: str, provider: str, original_value: Fen) -> ContractFunction:
        return self.contracts.registry.functions.registerInstrument(text_id(instrument_id), provider, original_value)

    def register_contract(self, signer: LocalAccount, contract: ContractInput) -> Sent:
        """Register a technology contract and its milestones (an operator signs)."""
        fn = self.contracts.registry.functions.registerContract(_registration(contract))
        return self.session.transact(signer, fn)

    def register_contracts(self, signer: LocalAccount, contracts: list[ContractInput]) -> Sent:
        """Register several contracts in one transaction, all or none (an operator signs)."""
        fn = self.contracts.registry.functions.registerContracts([_registration(c) for c in contracts])
        return self.session.transact(signer, fn)

    def achieve_milestone(self, signer: LocalAccount, *, contract: str, index: int, at: int) -> Sent:
        fn = self.contracts.registry.functions.achieveMilestone(text_id(contract), index, at)
        return self.session.transact(signer, fn)

    def report_revenue(self, signer: LocalAccount, *, contract: str, period: str, revenue: Fen, at: int) -> Sent:
        fn = self.contracts.registry.functions.reportRevenue(text_id(contract), text_id(period), revenue, at)
        return self.session.transact(signer, fn)

    def settle(self, signer: LocalAccount, settlement: SettlementInput) -> Outcome:
        sent = self.session.transact(signer, self.contracts.ledger.functions.record(settlement.as_tuple()))
        return self._outcome(sent, "SettlementReplayed")

    def settle_batch(
        self, signer: LocalAccount, settlements: list[SettlementInput], *, gas: int | None = None
    ) -> Outcome:
        fn = self.contracts.ledger.functions.recordBatch([s.as_tuple() for s in settlements])
        return self._outcome(self.session.transact(signer, fn, gas=gas), "SettlementReplayed")

    def attest_startup_revenue(self, signer: LocalAccount, *, member: str, year: int, revenue: Fen, at: int) -> Outcome:
        att = attestation_id("startup-revenue", member, year, revenue, at)
        fn = self.contracts.ledger.functions.attestStartupRevenue(att, member, year, revenue, at)
        return self._outcome(self.session.transact(signer, fn), "AttestationReplayed")

    def attest_appointment(self, signer: LocalAccount, *, member: str, title: AppointmentTitle, at: int) -> Outcome:
        att = attestation_id("appointment", member, int(title), at)
        fn = self.contracts.ledger.functions.attestAppointment(att, member, int(title), at)
        return self._outcome(self.session.transact(signer, fn), "AttestationReplayed")

    # --- member -----------------------------------------------------------------------------

    def redeem(self, signer: LocalAccount, *, points: Centipoints, purpose: str) -> Sent:
        return self.session.transact(signer, self.contracts.points.functions.redeem(points, purpose))

    def redeem_call(self, sender: str, *, points: Centipoints, purpose: str) -> tuple[str, bytes]:
        """Where a redemption goes and its calldata, to be signed (see `ledger.services.redemption`)."""
        return self.session.encoded(sender, self.contracts.points.functions.redeem(points, purpose))

    # --- reads ------------------------------------------------------------------------------

    def member(self, address: str) -> MemberRecord:
        return _member_record(address, self.session.call(self.contracts.membership.functions.memberOf(address)))

    def members(self) -> list[MemberRecord]:
        """Every member ever enrolled, in enrolment order, as the chain holds them now (read in a few
        batch requests, whatever their number)."""
        membership = self.contracts.membership.functions
        count = self.session.call(membership.memberCount())
        addresses = self.session.call_all([membership.memberAt(i) for i in range(count)])
        profiles = self.session.call_all([membership.memberOf(a) for a in addresses])
        return [_member_record(address, profile) for address, profile in zip(addresses, profiles, strict=True)]

    def is_operator(self, address: str) -> bool:
        return bool(self.session.call(self.contracts.membership.functions.isOperator(address)))

    def operators_among(self, accounts: list[str]) -> list[str]:
        """Those of `accounts` that hold the operator role now."""
        membership = self.contracts.membership.functions
        held = self.session.call_all([membership.isOperator(a) for a in accounts])
        return [a for a, operator in zip(accounts, held, strict=True) if operator]

    def balance(self, address: str, *, block: int | None = None) -> Centipoints:
        """The member's points, now or as of `block`."""
        return Centipoints(self.session.call(self.contracts.points.functions.balanceOf(address), block=block))

    def balances(self, addresses: list[str], *, block: int | None = None) -> list[Centipoints]:
        """The points of each of `addresses`, now or as of `block` (read in batches where the node allows)."""
        points = self.contracts.points.functions
        found = self.session.call_all([points.balanceOf(a) for a in addresses], block=block)
        return [Centipoints(b) for b in found]

    def contract_view(self, contract_id: str) -> dict[str, Any]:
        """A registered contract's terms and totals as the registry holds them, by field name."""
        return _contract_view(self.session.call(self.contracts.registry.functions.contractOf(text_id(contract_id))))

    def contract_views(self, contract_ids: list[str]) -> list[dict[str, Any]]:
        """`contract_view` of each of `contract_ids`, read in batches where the node allows."""
        of = self.contracts.registry.functions.contractOf
        return [_contract_view(v) for v in self.session.call_all([of(text_id(c)) for c in contract_ids])]

    def points_history(self, address: str, *, from_block: int) -> list[PointsEntry]:
        """The member's issuances and redemptions in recorded order (the node filters them by member)."""
        topics = [[event_topic("PointsIssued"), event_topic("PointsRedeemed")], account_topic(address)]
        entries: list[PointsEntry] = []
        balance = 0
        points_contract = {"Points": self.addresses["Points"]}
        events = list(iter_logs(self.session, points_contract, from_block=from_block, topics=topics))
        times = self.session.block_times(e.block for e in events)
        facts = self.source_facts({e.args["source"]: e.block for e in events if e.name == "PointsIssued"})
        for e in events:
            issued = e.name == "PointsIssued"
            points = e.args["amount"] if issued else -e.args["amount"]
            balance += points
            dated, contract = facts.get(e.args["source"], (None, None)) if issued else (None, None)
            entries.append(
                PointsEntry(
                    block=e.block,
                    recorded_at=times[e.block],
                    rule=id_text(e.args["ruleId"]) if issued else None,
                    source=id_text(e.args["source"]) if issued else None,
                    purpose=None if issued else e.args["purpose"],
                    points=points,
                    balance=balance,
                    tx_hash=e.tx_hash,
                    dated=dated,
                    contract=contract,
                )
            )
        return entries

    def source_facts(self, sources: dict[bytes, int]) -> dict[bytes, tuple[int, str | None]]:
        """The date of each recorded settlement or attestation of `sources` (id -> the block of an
        issuance it caused, which is its own: both are in one transaction) as the rules use it, and
        the contract of a settlement; asked of the node for those ids only, over their blocks only."""
        names = ("SettlementRecorded", "StartupRevenueAttested", "AppointmentAttested")
        ledger = {"SettlementLedger": self.addresses["SettlementLedger"]}
        facts: dict[bytes, tuple[int, str | None]] = {}
        in_order = sorted(sources, key=lambda s: sources[s])
        for start in range(0, len(in_order), SOURCES_PER_QUERY):
            chunk = in_order[start : start + SOURCES_PER_QUERY]
            topics = [[event_topic(name) for name in names], ["0x" + bytes(s).hex() for s in chunk]]
            first, last = sources[chunk[0]], sources[chunk[-1]]
            for e in iter_logs(self.session, ledger, from_block=first, to_block=last, topics=topics):
                if e.name == "SettlementRecorded":
                    facts[e.args["ref"]] = (e.args["paidAt"], id_text(e.args["contractId"]))
                else:  # an attestation (the topics ask for these three events only)
                    facts[e.args["attestationId"]] = (e.args["attestedAt"], None)
        return facts

    def suspended_parties(self, contract_id: str) -> list[str]:
        """The contract's parties (seller, buyer, broker) who are suspended: a payment on the contract is
        recorded, but their points from it are withheld (SPEC §5)."""
        view = self.contract_view(contract_id)
        parties = contract_parties(view["seller"], view["buyer"], view["broker"])
        return [a for a in parties if self.member(a).status is MemberStatus.SUSPENDED]

    def milestone(self, contract_id: str, index: int) -> MilestoneRecord:
        return _milestone_record(
            self.session.call(self.contracts.registry.functions.milestoneOf(text_id(contract_id), index))
        )

    def milestones(self, contract_id: str, count: int) -> list[MilestoneRecord]:
        """The first `count` milestones of a contract (all of them: its `milestone_count`), read in one
        batch where the node allows."""
        return self.milestones_of({contract_id: count})[contract_id]

    def milestones_of(self, counts: dict[str, int]) -> dict[str, list[MilestoneRecord]]:
        """`milestones` of several contracts (id: how many), read together in batches where the node allows."""
        of = self.contracts.registry.functions.milestoneOf
        asked = [(contract_id, index) for contract_id, count in counts.items() for index in range(count)]
        found = self.session.call_all([of(text_id(contract_id), index) for contract_id, index in asked])
        out: dict[str, list[MilestoneRecord]] = {contract_id: [] for contract_id in counts}
        for (contract_id, _), answer in zip(asked, found, strict=True):
            out[contract_id].append(_milestone_record(answer))
        return out

    def instrument(self, instrument_id: str) -> tuple[str, Fen]:
        """A registered instrument's provider and original value."""
        provider, value = self.session.call(self.contracts.registry.functions.instrumentOf(text_id(instrument_id)))
        return provider, Fen(value)

    def royalty(self, contract_id: str, period: str) -> tuple[bool, Fen, Fen]:
        """A royalty period of a contract: whether its revenue is reported, the royalty due and what is paid."""
        reported, due, paid = self.session.call(
            self.contracts.registry.functions.royaltyOf(text_id(contract_id), text_id(period))
        )
        return bool(reported), Fen(due), Fen(paid)

    def royalties(self, periods: list[tuple[str, str]]) -> list[tuple[bool, Fen, Fen]]:
        """`royalty` of each (contract, period), read in batches where the node allows."""
        of = self.contracts.registry.functions.royaltyOf
        found = self.session.call_all([of(text_id(contract_id), text_id(period)) for contract_id, period in periods])
        return [(bool(reported), Fen(due), Fen(paid)) for reported, due, paid in found]

    def recorded_hash(self, ref: str) -> bytes:
        return bytes(self.session.call(self.contracts.ledger.functions.recordedHash(text_id(ref))))

    def rule_history(self, rule_id: str) -> list[RuleParams]:
        """Every published version of a rule, oldest first."""
        rows = self.session.call(self.contracts.policy.functions.ruleHistory(text_id(rule_id)))
        return [
            RuleParams(
                rate_bps=r[0],
                amount=Centipoints(r[1]),
                threshold=Fen(r[2]),
                window_start=r[3],
                window_end=r[4],
                effective_from=r[5],
                version=r[6],
            )
            for r in rows
        ]


def _rule_update(rule_id: str, params: RuleParams) -> tuple[Any, ...]:
    return (
        text_id(rule_id),
        params.rate_bps,
        params.amount,
        params.threshold,
        params.window_start,
        params.window_end,
        params.effective_from,
    )


def _registration(contract: ContractInput) -> tuple[Any, ...]:
    """The `ContractInput` tuple of the registry's ABI."""
    return (
        text_id(contract.id),
        int(contract.kind),
        int(contract.plan),
        contract.royalty_bps,
        contract.signed,
        contract.seller,
        contract.buyer,
        contract.broker or ZERO_ADDRESS,
        text_id(contract.instrument) if contract.instrument else ZERO32,
        contract.terms_hash,
        [(m.title, m.amount, m.due) for m in contract.milestones],
    )

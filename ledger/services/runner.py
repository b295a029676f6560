"""`ledger run`: play a scenario file on a fresh deployment, then verify (SPEC §7)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.chain.deploy import deploy_all
from ledger.chain.encoding import amendment_source_hash, sha256_bytes, text_id
from ledger.chain.errors import refusal
from ledger.chain.session import ChainSession
from ledger.chain.transport import NodeAccess
from ledger.domain.money import format_points, format_yuan
from ledger.domain.policy import PolicyDocument, amended, load_policy
from ledger.domain.scenario import PAYMENT_EVENTS, ContractDecl, Scenario, ScenarioEvent
from ledger.domain.types import SettlementKind
from ledger.errors import ContractError, LedgerError
from ledger.services.client import ContractInput, Enrolment, LedgerClient, SettlementInput, contract_input
from ledger.services.contract_files import group_gas, register_in_groups
from ledger.services.import_check import rows_fitting
from ledger.services.verify import VerificationReport, verify_deployment

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_REJECTED = 3
EXIT_DISCREPANCY = 4

Progress = Callable[[int, int], None]
#: An event to play, with its settlement when it is one (built once, to batch, send, remember or compare).
Played = tuple[ScenarioEvent, SettlementInput | None]
#: The events the ledger marks each settlement of a batch with, in the batch's order: one of the two each.
SETTLEMENT_OUTCOMES = frozenset({"SettlementRecorded", "SettlementReplayed"})


@dataclass
class Rejection:
    """A scenario event the ledger refused: its index, the error's name and its sentence; for a reference
    given again with other data, what differs from the settlement recorded under it (shown to a person,
    beside the message the JSON keeps as the ledger says it)."""

    event: int
    error: str
    message: str
    differences: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"event": self.event, "error": self.error, "message": self.message}


@dataclass
class Unregistered:
    """A declared contract the registry refused (a party suspended by its signing date): no event names
    it, so it is not among the rejected events; every event on it is refused, saying why."""

    contract: str
    error: str
    message: str


@dataclass
class RunResult:
    """What playing a scenario gave: the members' points, the contracts, rejections, replays and the
    verification (SPEC section 7)."""

    scenario: Scenario
    addresses: dict[str, str]
    members: dict[str, dict[str, Any]]
    contracts: dict[str, dict[str, Any]]
    rejected: list[Rejection]
    replayed: list[int]
    verification: VerificationReport
    unregistered: list[Unregistered]

    @property
    def exit_code(self) -> int:
        """SPEC section 7; a contract refused at registration is a refusal too (3), though not an event's."""
        if not self.verification.ok:
            return EXIT_DISCREPANCY
        return EXIT_REJECTED if self.rejected or self.unregistered else EXIT_OK

    def as_json(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "contracts": self.contracts,
            "rejected": [r.as_json() for r in self.rejected],
            "replayed": self.replayed,
            "verification": self.verification.as_json(),
        }

    def outcome(self) -> dict[str, Any]:
        """`as_json` without the members' accounts, which each run makes afresh: the same for every run of
        one scenario, on any chain, its settlements batched or not."""
        out = self.as_json()
        out["members"] = {
            member_id: {key: value for key, value in member.items() if key != "address"}
            for member_id, member in out["members"].items()
        }  # copies: the result keeps its accounts
        return out


class ScenarioRunner:
    """Deploys, enrols, registers and plays the events of one scenario."""

    def __init__(
        self, session: ChainSession, scenario: Scenario, *, progress: Progress | None = None, batches: bool = True
    ) -> None:
        """With `batches` false, every event and contract goes on chain in a transaction of its own (the
        baseline the benchmark measures batches against; both give the same result)."""
        self.session = session
        self.scenario = scenario
        self.progress = progress
        # as many settlements as fit the chain's gas ceiling (EIP-7825's cap, or a smaller block gas limit)
        # even when each costs the most one can
        self.batch_size = rows_fitting(session.gas_ceiling()) if batches else 1
        self.group_gas = group_gas(session) if batches else 0  # a group of one contract, when not batching
        self.policy: PolicyDocument = load_policy(scenario.policy_path)
        self.regulator = session.new_account("regulator")
        self.operator = session.new_account("operator")
        self.keys: dict[str, LocalAccount] = {m.id: session.new_account(m.id) for m in scenario.members}
        self.rejected: list[Rejection] = []
        self.replayed: list[int] = []
        self.registered: set[str] = set()
        self.unregistered: dict[str, Unregistered] = {}
        #: The settlements recorded so far, by reference (their data, to tell a resend from a conflict).
        self.settled: dict[str, SettlementInput] = {}
        self.client: LedgerClient

    def address(self, member_id: str) -> str:
        return str(self.keys[member_id].address)

    def run(self) -> RunResult:
        """Deploy, publish the policy, enrol, register and play every event in order; then verify."""
        record, contracts = deploy_all(self.session, self.regulator)
        self.client = LedgerClient(self.session, contracts)
        self.client.publish_document(self.regulator, self.policy)
        self.client.appoint_operator(self.regulator, self.operator.address)
        # the members' enrolments, then the instruments (each provider enrolled by then), sent together
        enrolments = [
            Enrolment(account=self.address(m.id), kind=m.kind, in_region=m.in_region, uscc=m.uscc)
            for m in self.scenario.members
        ]
        self.client.enrol_all(self.regulator, enrolments)
        instruments = [(i.id, self.address(i.provider), i.original_value) for i in self.scenario.instruments]
        self.client.register_instruments(self.operator, instruments)
        declared = sorted(self.scenario.contracts, key=lambda c: c.signed)
        signing = [c.signed for c in declared]
        events = self.scenario.events
        reached = n = 0  # the contracts whose signing the events reached (registered), the events played
        while n < len(events):
            signed = bisect_right(signing, events[n].at, lo=reached)
            if signed > reached:
                self._register_all(declared[reached:signed])
                reached = signed
            next_signing = signing[reached] if reached < len(signing) else None
            group = self._settlements_from(n, next_signing)
            self.session.advance_to(group[-1][0].at)
            self._play_together(group)
            n += len(group)
            if self.progress:
                self.progress(n, len(events))
        if reached < len(declared):
            self._register_all(declared[reached:])
        verification = verify_deployment(self.client, from_block=record.block, documents=[self.policy])
        return RunResult(
            scenario=self.scenario,
            addresses=record.addresses,
            members=self._members(verification),
            contracts=self._contracts(),
            rejected=self.rejected,
            replayed=self.replayed,
            verification=verification,
            unregistered=list(self.unregistered.values()),
        )

    # --- registration and events ------------------------------------------------------------

    def _register_all(self, declared: list[ContractDecl]) -> None:
        """Register the declared contracts (in signing order) once the chain's clock reaches their signing
        dates (the registry refuses a contract dated as signed ahead of it), in as few transactions as the
        gas ceiling allows; a group the registry refuses is registered again one contract at a time, so
        that each refusal is its own contract's, kept for the events on it to say."""
        self.session.advance_to(declared[-1].signed)
        contracts = [self._contract_input(c) for c in declared]
        groups = register_in_groups(self.client, self.operator, contracts, gas=self.group_gas, alone=self._register)
        self.registered.update(contract.id for contract, registered in groups if registered)

    def _contract_input(self, c: ContractDecl) -> ContractInput:
        terms = sha256_bytes(c.terms.encode("utf-8")) if c.terms else b"\0" * 32
        return contract_input(c, address=self.address, terms_hash=terms)

    def _register(self, contract: ContractInput) -> bool:
        """Register one contract: whether it is, a refusal kept for the events on it to say."""
        try:
            self.client.register_contract(self.operator, contract)
        except ContractError as exc:
            self.unregistered[contract.id] = Unregistered(contract=contract.id, error=exc.name, message=str(exc))
            return False
        return True

    def _settlements_from(self, n: int, next_signing: int | None) -> list[Played]:
        """The events from the `n`th that go on chain together, each with its settlement: a run of
        settlements on registered contracts, up to a batch's worth, that no registration falls within
        (the next is due at `next_signing`); else the `n`th alone."""
        group: list[Played] = []
        in_group: dict[str, SettlementInput] = {}
        for event in self.scenario.events[n : n + self.batch_size]:
            settlement = self._settlement(event) if event.type in PAYMENT_EVENTS else None
            batched = False  # a settlement on a registered contract, its reference new or given alike
            if settlement is not None and event.contract in self.registered:
                # a reference given before with other data is refused: alone, the batch goes on
                given = self.settled.get(settlement.ref) or in_group.setdefault(settlement.ref, settlement)
                batched = given == settlement
            if group and (not batched or (next_signing is not None and next_signing <= event.at)):
                break
            group.append((event, settlement))
            if not batched:
                break
        return group

    def _play_together(self, group: list[Played]) -> None:
        """Play settlements in one batch, as the ledger records a batch: in order, each as if alone (an
        identical resend a replay). A batch is all or nothing, so one the ledger refuses is played again
        in halves, down to the one event that is refused alone, with its own refusal."""
        if len(group) == 1:
            self._play(*group[0])
            return
        settlements = [settlement for _, settlement in group if settlement is not None]
        try:
            outcome = self.client.settle_batch(self.operator, settlements)
        except ContractError:
            half = len(group) // 2
            self._play_together(group[:half])
            self._play_together(group[half:])
            return
        self.settled.update((settlement.ref, settlement) for settlement in settlements)
        marks = [e.name == "SettlementReplayed" for e in outcome.events if e.name in SETTLEMENT_OUTCOMES]
        self.replayed += [event.index for (event, _), replayed in zip(group, marks, strict=True) if replayed]

    def _play(self, event: ScenarioEvent, settlement: SettlementInput | None) -> None:
        try:
            replayed = self._dispatch(event, settlement)
        except ContractError as exc:
            message = str(exc)
            refused = self.unregistered.get(event.contract or "")
            if exc.name == "UnknownContract" and refused is not None:
                message += f": its registration was refused ({refused.error}: {refused.message})"
            recorded = self.settled.get(event.ref or "") if exc.name == "DuplicatePayment" else None
            changes = tuple(settlement.differences(recorded)) if settlement and recorded else ()
            self.rejected.append(Rejection(event=event.index, error=exc.name, message=message, differences=changes))
            return
        if replayed:
            self.replayed.append(event.index)

    def _dispatch(self, e: ScenarioEvent, settlement: SettlementInput | None) -> bool:
        c = self.client
        if settlement is not None:
            return self._settle(e, settlement)
        if e.type == "milestone_achieved":
            assert e.contract is not None and e.milestone is not None
            self._require_signed(e)
            c.achieve_milestone(self.operator, contract=e.contract, index=e.milestone, at=e.at)
        elif e.type == "revenue_report":
            assert e.contract is not None and e.period is not None and e.amount is not None
            self._require_signed(e)
            c.report_revenue(self.operator, contract=e.contract, period=e.period, revenue=e.amount, at=e.at)
        # An attestation sent again unchanged changes nothing, as one of an award already made on another
        # date: `replayed` lists settlements only (SPEC section 7), so neither is listed.
        elif e.type == "sme_revenue":
            assert e.member is not None and e.year is not None and e.amount is not None
            c.attest_startup_revenue(
                self.operator, member=self.address(e.member), year=e.year, revenue=e.amount, at=e.at
            )
        elif e.type == "talent_appointment":
            assert e.member is not None and e.title is not None
            c.attest_appointment(self.operator, member=self.address(e.member), title=e.title, at=e.at)
        elif e.type == "redeem":
            assert e.member is not None and e.points is not None and e.purpose is not None
            c.redeem(self.keys[e.member], points=e.points, purpose=e.purpose)
        elif e.type == "suspend":
            assert e.member is not None
            c.suspend(self.regulator, self.address(e.member))
        elif e.type == "reinstate":
            assert e.member is not None
            c.reinstate(self.regulator, self.address(e.member))
        elif e.type == "policy_version":
            self._publish_version(e)
        return False

    def _require_signed(self, e: ScenarioEvent) -> None:
        """An event dated before its contract's signing (so not registered yet): refuse it as the chain would."""
        assert e.contract is not None
        decl = self.scenario.contract_index[e.contract]
        if e.contract not in self.registered and decl.signed > e.at:
            name = "PaymentBeforeSigning" if e.type in PAYMENT_EVENTS else "DatedBeforeSigning"
            raise refusal(name, text_id(e.contract), e.at, decl.signed)

    def _settle(self, e: ScenarioEvent, settlement: SettlementInput) -> bool:
        self._require_signed(e)
        replayed = self.client.settle(self.operator, settlement).replayed
        self.settled[settlement.ref] = settlement
        return replayed

    @staticmethod
    def _settlement(e: ScenarioEvent) -> SettlementInput:
        assert e.contract is not None and e.ref is not None and e.amount is not None
        evidence = sha256_bytes(e.evidence.encode("utf-8")) if e.evidence else b"\0" * 32
        return SettlementInput(
            ref=e.ref,
            contract=e.contract,
            amount=e.amount,
            paid_at=e.at,
            milestone=e.milestone,  # (the only one named when the file leaves it out: see `parse_scenario`)
            period=e.period,  # a royalty payment's; none of the others has one
            kind=SettlementKind.EQUITY if e.type == "equity" else SettlementKind.CASH,
            evidence_hash=evidence,
        )

    def _publish_version(self, e: ScenarioEvent) -> None:
        assert e.rule is not None
        history = self.client.rule_history(e.rule)
        if not history:
            raise LedgerError(f"rule {e.rule} has no published version to amend")
        params = amended(
            history[-1], effective_from=e.at, rate_bps=e.rate_bps, amount=e.fixed_amount, threshold=e.threshold
        )
        self.client.publish_rules(
            self.regulator, source_hash=amendment_source_hash(e.rule, params), rules={e.rule: params}
        )

    # --- results ----------------------------------------------------------------------------

    def _members(self, verification: VerificationReport) -> dict[str, dict[str, Any]]:
        by_rule: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for issuance in verification.issued:
            by_rule[issuance.member][issuance.rule_id] += issuance.amount
        out: dict[str, dict[str, Any]] = {}
        for member in self.scenario.members:
            address = self.address(member.id)
            rules = by_rule.get(address, {})
            issued = sum(rules.values())
            redeemed = verification.redeemed.get(address, 0)
            out[member.id] = {
                "address": address,
                "points": format_points(verification.balances[address]),  # on chain, as the verification read it
                "issued": format_points(issued),
                "redeemed": format_points(redeemed),
                "by_rule": {rule: format_points(v) for rule, v in sorted(rules.items()) if v > 0},
            }
        return out

    def _contracts(self) -> dict[str, dict[str, Any]]:
        """Each declared contract as the registry holds it (all read together: a node is asked in batches)."""
        out: dict[str, dict[str, Any]] = {}
        ids = [decl.id for decl in self.scenario.contracts if decl.id in self.registered]
        views = dict(zip(ids, self.client.contract_views(ids), strict=True))
        milestones_of = self.client.milestones_of({i: views[i]["milestone_count"] for i in ids})
        # the royalty periods revenue reports named (each once, though reported again), of registered contracts
        events = self.scenario.events
        named = {(e.contract, e.period) for e in events if e.type == "revenue_report" and e.contract and e.period}
        periods = sorted((contract, period) for contract, period in named if contract in views)
        royalties: dict[str, int] = defaultdict(int)  # the royalties reported and not paid, by contract
        for (contract, _), (reported, due, paid) in zip(periods, self.client.royalties(periods), strict=True):
            if reported:
                royalties[contract] += due - paid
        for decl in self.scenario.contracts:
            if decl.id not in views:
                out[decl.id] = {
                    "received": "0.00",
                    "outstanding": format_yuan(decl.value),
                    "milestones": [
                        {"status": "pending", "paid": "0.00", "due": format_yuan(m.amount)} for m in decl.milestones
                    ],
                }
                continue
            view, milestones = views[decl.id], milestones_of[decl.id]
            outstanding = sum(m.due - m.paid for m in milestones) + royalties[decl.id]
            out[decl.id] = {
                "received": format_yuan(view["received"]),
                "outstanding": format_yuan(outstanding),
                "milestones": [
                    {"status": m.status, "paid": format_yuan(m.paid), "due": format_yuan(m.due)} for m in milestones
                ],
            }
        return out


def run_scenario(
    scenario: Scenario,
    *,
    rpc: str | None = None,
    access: NodeAccess | None = None,
    progress: Progress | None = None,
    batches: bool = True,
) -> RunResult:
    """Start (or connect to) a chain, deploy, play the scenario and verify."""
    session = ChainSession.connect(rpc, access=access) if rpc else ChainSession.embedded()
    return ScenarioRunner(session, scenario, progress=progress, batches=batches).run()

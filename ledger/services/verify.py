"""Independent verification: recompute every award from the recorded facts and compare.

The recorded facts (enrolments, suspensions, policy versions, contracts, settlements,
attestations, redemptions) are read from the event log and replayed through the pure-Python
`AwardEngine`. The on-chain `PointsIssued` events and balances are only compared against the
result, never used to compute it. A policy version that claims to come from a policy file of the
repository is recomputed with that file's numbers, so a chain that published other numbers under
the file's name is caught award by award.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ledger.chain.encoding import amendment_source_hash, id_text
from ledger.chain.logs import LogEvent
from ledger.domain.dates import beijing_year, format_beijing
from ledger.domain.engine import Award, AwardEngine
from ledger.domain.money import Centipoints, Fen, readable_points
from ledger.domain.policy import PolicyDocument, RuleParams
from ledger.domain.types import AppointmentTitle, ContractKind, MemberKind, PaymentPlan
from ledger.errors import ChainError

ZERO_ADDRESS = "0x" + "00" * 20
Namer = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A failed check: which, a sentence saying what is wrong, and where (member, rule, block, transaction)."""

    check: str
    message: str
    member: str | None = None
    rule: str | None = None
    block: int | None = None
    tx_hash: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "message": self.message}
        for key in ("member", "rule", "block", "tx_hash"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class Issuance:
    member: str
    rule_id: str
    amount: Centipoints
    policy_version: int
    source: str
    block: int
    tx_hash: str


@dataclass(frozen=True, slots=True)
class Redemption:
    member: str
    amount: Centipoints
    purpose: str
    block: int
    tx_hash: str


@dataclass(frozen=True, slots=True)
class SourceFact:
    """The settlement or attestation behind issuances."""

    kind: str  # "settlement", "startup-revenue" or "appointment"
    label: str  # payment reference, or a description of the attestation
    date: int
    contract: str | None
    amount: Fen | None
    block: int
    tx_hash: str


@dataclass
class MarketTotals:
    """Aggregates for the market report, accumulated while the log streams by."""

    registered_value: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    registered_count: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    received: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    points_by_rule: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class VerificationReport:
    """What a verification found. The per-item lists (`expected`, `issued`, `redemptions`, `sources`)
    are filled only when the verifier keeps details (statements, `ledger run`); the counts and sums
    are always kept, so that verifying a long history holds one small entry per fact at most."""

    discrepancies: list[Discrepancy] = field(default_factory=list)
    expected: list[Award] = field(default_factory=list)
    issued: list[Issuance] = field(default_factory=list)
    redemptions: list[Redemption] = field(default_factory=list)
    redeemed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sources: dict[str, SourceFact] = field(default_factory=dict)
    versions: dict[tuple[int, str], RuleParams] = field(default_factory=dict)
    totals: MarketTotals = field(default_factory=MarketTotals)
    events_read: int = 0
    issuance_count: int = 0
    #: the block whose state was verified (events up to it, balances as of it), when read from a chain
    block: int | None = None
    issued_by_member: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    expected_by_member: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: every member's balance on chain (as of `block`), as compared with its issuances and its recomputation
    balances: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "discrepancies": [d.as_json() for d in self.discrepancies]}


AwardKey = tuple[str, str, str]  # source, member, rule


class Verifier:
    """Feed it the deployment's events in chain order, then call `finish` with the balances.

    Awards are compared with issuances transaction by transaction (a settlement or attestation and
    the points it earns are always in one transaction), so only the block of each recorded source is
    remembered; `details=False` keeps nothing else per fact.
    """

    def __init__(
        self, *, documents: Iterable[PolicyDocument] = (), namer: Namer | None = None, details: bool = True
    ) -> None:
        self.engine = AwardEngine()
        self.report = VerificationReport()
        self.documents = {doc.sha256: doc for doc in documents}
        self.name = namer or (lambda address: address)
        self.details = details
        self._pending_rules: list[tuple[str, RuleParams, LogEvent]] = []
        self._suspended: set[str] = set()
        self._source_blocks: dict[str, int] = {}
        self._tx: str | None = None
        self._open_expected: dict[AwardKey, list[Award]] = defaultdict(list)
        self._open_issued: dict[AwardKey, list[Issuance]] = defaultdict(list)
        self._open_labels: dict[str, str] = {}
        self._contract_ids: dict[bytes, str] = {}  # a registered contract's bytes32 id -> its text
        self._handlers: dict[str, Callable[[LogEvent], None] | None] = {}

    def _fail(self, check: str, message: str, event: LogEvent | None = None, **extra: Any) -> None:
        where = {"block": event.block, "tx_hash": event.tx_hash} if event else {}
        self.report.discrepancies.append(Discrepancy(check=check, message=message, **{**where, **extra}))

    def feed(self, event: LogEvent) -> None:
        """Take the next recorded event, in chain order."""
        if event.tx_hash != self._tx:
            self._close_transaction()
            self._tx = event.tx_hash
        self.report.events_read += 1
        handler = self._handlers.get(event.name)
        if handler is None and event.name not in self._handlers:
            handler = self._handlers[event.name] = getattr(self, "_on_" + event.name, None)
        if handler is not None:
            handler(event)

    def feed_all(self, events: Iterator[LogEvent]) -> None:
        for event in events:
            self.feed(event)

    # --- membership -------------------------------------------------------------------------

    def _on_MemberEnrolled(self, e: LogEvent) -> None:  # noqa: N802
        self.engine.enrol(e.args["account"], kind=MemberKind(e.args["kind"]), in_region=e.args["inRegion"])

    def _on_MemberSuspended(self, e: LogEvent) -> None:  # noqa: N802
        self.engine.suspend(e.args["account"])
        self._suspended.add(e.args["account"])

    def _on_MemberReinstated(self, e: LogEvent) -> None:  # noqa: N802
        self.engine.reinstate(e.args["account"])
        self._suspended.discard(e.args["account"])

    # --- policy -----------------------------------------------------------------------------

    def _on_RuleVersionPublished(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        params = RuleParams(
            rate_bps=a["rateBps"],
            amount=Centipoints(a["amount"]),
            threshold=Fen(a["threshold"]),
            window_start=a["windowStart"],
            window_end=a["windowEnd"],
            effective_from=a["effectiveFrom"],
            version=a["version"],
        )
        self._pending_rules.append((id_text(a["ruleId"]), params, e))

    def _on_PolicyVersionPublished(self, e: LogEvent) -> None:  # noqa: N802
        """A version's rules are adopted once its source is known (the event closes the publication)."""
        version = e.args["version"]
        source = bytes(e.args["sourceHash"])
        rules = [(rule, params) for rule, params, _ in self._pending_rules if params.version == version]
        self._pending_rules = [p for p in self._pending_rules if p[1].version != version]
        document = self.documents.get(source.hex())
        if document is not None:
            rules = [(rule, self._checked_against_file(document, rule, params, e)) for rule, params in rules]
            for spec in document.rules:
                if spec.id not in {rule for rule, _ in rules}:
                    self._fail("policy-file", f"policy version {version} ({document.id}) lacks rule {spec.id}", e)
        elif not (len(rules) == 1 and amendment_source_hash(*rules[0]) == source):
            self._fail(
                "policy-file",
                f"policy version {version} (source 0x{source.hex()[:16]}...) matches no policy file of the "
                "repository (policy/*.toml: add the published file there, or give it with --policy) and is not a "
                "well-formed one-rule amendment",
                e,
            )
        for rule, params in rules:
            self.engine.publish(rule, params)
            self.report.versions[(version, rule)] = params

    def _checked_against_file(self, document: PolicyDocument, rule: str, got: RuleParams, e: LogEvent) -> RuleParams:
        """The file's numbers for `rule` (with the version number), noting any field the chain changed."""
        try:
            want = replace(document.rule(rule).params, version=got.version)
        except KeyError:
            self._fail("policy-file", f"policy version {got.version} publishes {rule}, which {document.id} lacks", e)
            return got
        for name, in_file, on_chain in want.differences(got):
            self._fail(
                "policy-file",
                f"policy version {got.version} publishes {rule} with {name} = {on_chain}, but the "
                f"file {document.id} (sha256 {document.sha256[:16]}...) says {in_file}",
                e,
                rule=rule,
            )
        return want

    # --- contracts and facts that earn points -----------------------------------------------

    def _on_ContractRegistered(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        broker = None if int(a["broker"], 16) == 0 else a["broker"]
        contract_id = id_text(a["contractId"])
        self._contract_ids[bytes(a["contractId"])] = contract_id
        kind = ContractKind(a["kind"])
        self.engine.register_contract(
            contract_id, kind=kind, plan=PaymentPlan(a["plan"]), seller=a["seller"], buyer=a["buyer"], broker=broker
        )
        key = (beijing_year(a["signedAt"]), kind.label)
        self.report.totals.registered_value[key] += a["value"]
        self.report.totals.registered_count[key] += 1

    def _source_once(self, source: str, label: str | None, e: LogEvent, fact: Callable[[], SourceFact]) -> bool:
        """Note a settlement or attestation, or report it as a duplicate. `fact` is only built (and kept)
        when the verifier keeps details; a settlement's `label` (None) is its reference, read from
        `source` only when a message needs it."""
        first_block = self._source_blocks.get(source)
        if first_block is not None:
            self._fail(
                "unique-reference",
                f"reference {label or _reference(source)} was recorded twice (first in block {first_block}, "
                f"again in block {e.block}); it may be counted only once",
                e,
            )
            return False
        self._source_blocks[source] = e.block
        if label is not None:
            self._open_labels[source] = label
        if self.details:
            self.report.sources[source] = fact()
        return True

    def _expect(self, awards: list[Award]) -> None:
        for award in awards:
            self._open_expected[(award.source, award.member, award.rule_id)].append(award)
            self.report.expected_by_member[award.member] += award.amount
            if self.details:
                self.report.expected.append(award)

    def _on_SettlementRecorded(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        source = _source(a["ref"])
        contract = self._contract_ids.get(a["contractId"]) or id_text(a["contractId"])
        if not self._source_once(
            source,
            None,
            e,
            lambda: SourceFact(
                "settlement", id_text(a["ref"]), a["paidAt"], contract, Fen(a["amount"]), e.block, e.tx_hash
            ),
        ):
            return
        if contract not in self.engine.contracts:
            self._fail("settlement-contract", f"settlement {id_text(a['ref'])} names unknown contract {contract}", e)
            return
        key = (beijing_year(a["paidAt"]), self.engine.contracts[contract].kind.label)
        self.report.totals.received[key] += a["amount"]
        self._expect(self.engine.settle(ref=source, contract_id=contract, amount=Fen(a["amount"]), paid_at=a["paidAt"]))

    def _on_StartupRevenueAttested(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        source = _source(a["attestationId"])
        label = f"start-up revenue {a['year']} of {self.name(a['member'])}"
        fact = SourceFact("startup-revenue", label, a["attestedAt"], None, Fen(a["revenue"]), e.block, e.tx_hash)
        if a["year"] > beijing_year(a["attestedAt"]):  # what the ledger contract refuses (RevenueYearAhead)
            self._fail(
                "attestation-dated",
                f"{label} was attested on {format_beijing(a['attestedAt'])}, before that year began",
                e,
                member=a["member"],
            )
        if not self.engine.is_enterprise(a["member"]):  # what the ledger contract refuses (NotAnEnterprise)
            self._fail(
                "attestation-eligible",
                f"{label} was attested, but {self.name(a['member'])} is not an enrolled enterprise",
                e,
                member=a["member"],
            )
        if self._source_once(source, label, e, lambda: fact):
            self._expect(
                self.engine.attest_startup_revenue(
                    attestation_id=source, member=a["member"], revenue=Fen(a["revenue"]), at=a["attestedAt"]
                )
            )

    def _on_AppointmentAttested(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        source = _source(a["attestationId"])
        title = AppointmentTitle(a["title"])
        label = f"appointment of {self.name(a['member'])} as {title.label}"
        fact = SourceFact("appointment", label, a["attestedAt"], None, None, e.block, e.tx_hash)
        if a["member"] not in self.engine.members:  # what the ledger contract refuses (NotAMember)
            message = f"{label} was attested, but no such member was enrolled"
            self._fail("attestation-eligible", message, e, member=a["member"])
        if self._source_once(source, label, e, lambda: fact):
            self._expect(
                self.engine.attest_appointment(
                    attestation_id=source, member=a["member"], title=title, at=a["attestedAt"]
                )
            )

    def _on_SettlementReplayed(self, e: LogEvent) -> None:  # noqa: N802
        self._replay_of_recorded("settlement", e.args["ref"], e)

    def _on_AttestationReplayed(self, e: LogEvent) -> None:  # noqa: N802
        self._replay_of_recorded("attestation", e.args["attestationId"], e)

    def _replay_of_recorded(self, what: str, source_id: bytes, e: LogEvent) -> None:
        """A replay answers a resend of something already recorded: its recording must be in the history.
        Where it is not, the node's state holds a fact whose block the node lost (as a node restored from
        a state file written out of step with its blocks can): the points it earned are not in the history
        either, so nothing recomputed from the log can be trusted for it."""
        if _source(source_id) in self._source_blocks:
            return
        self._fail(
            "history-complete",
            f"{what} {id_text(source_id)} was answered as already recorded in block {e.block}, but no block "
            "records it: the node's state holds it and its history has lost it",
            e,
        )

    # --- what the chain did -----------------------------------------------------------------

    def _on_PointsIssued(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        issuance = Issuance(
            member=a["member"],
            rule_id=id_text(a["ruleId"]),
            amount=Centipoints(a["amount"]),
            policy_version=a["policyVersion"],
            source=_source(a["source"]),
            block=e.block,
            tx_hash=e.tx_hash,
        )
        self._open_issued[(issuance.source, issuance.member, issuance.rule_id)].append(issuance)
        self.report.issuance_count += 1
        self.report.issued_by_member[issuance.member] += issuance.amount
        if self.details:
            self.report.issued.append(issuance)
        self.report.totals.points_by_rule[issuance.rule_id] += issuance.amount
        unbacked = issuance.source not in self._source_blocks
        suspended = issuance.member in self._suspended
        if not (unbacked or suspended):
            return
        what = (
            f"{readable_points(issuance.amount)} points of {issuance.rule_id} were issued to "
            f"{self.name(issuance.member)}"
        )
        if unbacked:
            self._fail(
                "issuance-backed",
                f"{what} without a recorded settlement or attestation",
                e,
                member=issuance.member,
                rule=issuance.rule_id,
            )
        if suspended:
            self._fail(
                "suspended-member", f"{what} while it was suspended", e, member=issuance.member, rule=issuance.rule_id
            )

    def _on_PointsRedeemed(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        self.report.redeemed[a["member"]] += a["amount"]
        if self.details:
            self.report.redemptions.append(
                Redemption(a["member"], Centipoints(a["amount"]), a["purpose"], e.block, e.tx_hash)
            )

    # --- comparison -------------------------------------------------------------------------

    def finish(
        self, *, balances: dict[str, int], total_supply: int | None = None, total_issued: int | None = None
    ) -> VerificationReport:
        """Compare expected awards with issuances, and balances with issued − redeemed."""
        self._close_transaction()
        for rule, params, e in self._pending_rules:
            self._fail("policy-file", f"rule version of {rule} (version {params.version}) was never completed", e)
        issued_by_member = self.report.issued_by_member
        expected_by_member = self.report.expected_by_member
        self.report.balances = dict(balances)
        for member, balance in balances.items():
            redeemed = self.report.redeemed.get(member, 0)
            name = self.name(member)
            if balance != issued_by_member[member] - redeemed:
                self._fail(
                    "balance-consistent",
                    f"{name} holds {readable_points(balance)} points on chain, but its issuances less redemptions "
                    f"come to {readable_points(issued_by_member[member] - redeemed)}",
                    member=member,
                )
            if balance != expected_by_member[member] - redeemed:
                self._fail(
                    "balance-recomputed",
                    f"{name} holds {readable_points(balance)} points on chain; recomputed from its settlements and "
                    f"the policy it should hold {readable_points(expected_by_member[member] - redeemed)}",
                    member=member,
                )
        total = sum(issued_by_member.values())
        if total_issued is not None and total_issued != total:
            self._fail(
                "totals",
                f"the points contract reports {readable_points(total_issued)} issued, "
                f"its events {readable_points(total)}",
            )
        if total_supply is not None and total_supply != total - sum(self.report.redeemed.values()):
            self._fail("totals", "the total supply of points is not issued minus redeemed")
        return self.report

    def _close_transaction(self) -> None:
        """Compare the awards the transaction's facts earn with the points it issued, then forget both."""
        expected, actual = self._open_expected, self._open_issued
        for key in sorted(set(expected) | set(actual)):
            source, member, rule = key
            want = sum(a.amount for a in expected.get(key, []))
            got = sum(i.amount for i in actual.get(key, []))
            where = actual[key][0] if actual.get(key) else None
            fact = self.report.sources.get(source)
            label = self._open_labels.get(source) or (fact.label if fact else _reference(source))
            block, tx_hash = (where.block, where.tx_hash) if where else (None, None)
            if want != got:
                self._fail(
                    "award-recomputed",
                    f"{self.name(member)} received {readable_points(got)} points of {rule} for {label}; the policy "
                    f"gives {readable_points(want)}",
                    member=member,
                    rule=rule,
                    block=block,
                    tx_hash=tx_hash,
                )
            elif want and where is not None:
                versions = {a.policy_version for a in expected[key]}
                if where.policy_version not in versions:
                    self._fail(
                        "award-version",
                        f"the {rule} award to {self.name(member)} for {label} names policy version "
                        f"{where.policy_version}; the version in force was {min(versions)}",
                        member=member,
                        rule=rule,
                        block=block,
                        tx_hash=tx_hash,
                    )

        self._open_expected = defaultdict(list)
        self._open_issued = defaultdict(list)
        self._open_labels = {}


def verify_deployment(
    client: Any,
    *,
    from_block: int,
    documents: Iterable[PolicyDocument] = (),
    index: Any = None,
    on_range: Callable[[int, int, int], None] | None = None,
    details: bool = True,
) -> VerificationReport:
    """Read the whole history of a deployment (through `index` when given) and verify it; with
    `details=False` the report holds counts and sums but no per-issuance lists."""
    from ledger.chain.logs import iter_logs

    verifier = Verifier(documents=documents, namer=client.session.name_of, details=details)
    names = client.names_by_address
    # Everything is read as of one block: the events up to it, then the balances and totals at it, so
    # that blocks mined meanwhile (an import running beside the verification) cannot set them apart.
    head = client.session.head()
    if index is not None:
        events: Iterator[LogEvent] = index.sync_events(
            client.session, client.addresses, names, from_block=from_block, to_block=head, on_range=on_range
        )
    else:
        events = iter_logs(client.session, client.addresses, from_block=from_block, to_block=head, on_range=on_range)
    members: list[str] = []
    for event in events:
        if event.name == "MemberEnrolled":
            members.append(event.args["account"])
        verifier.feed(event)
    holders = sorted(set(members) | set(verifier.report.issued_by_member))
    points = client.contracts.points.functions
    try:
        balances = dict(zip(holders, map(int, client.balances(holders, block=head)), strict=True))
        total_supply, total_issued = client.session.call_all([points.totalSupply(), points.totalIssued()], block=head)
    except ChainError as exc:
        raise ChainError(
            f"could not read the balances as of block {head}, where the events read end ({exc}); "
            "a node that keeps only its latest states may have moved on: run the verification again"
        ) from None
    report = verifier.finish(balances=balances, total_supply=int(total_supply), total_issued=int(total_issued))
    report.block = head
    return report


def _source(value: bytes) -> str:
    """The key of a settlement or attestation (its bytes32 reference or id): "0x" and its hex."""
    return "0x" + bytes(value).hex()


def _reference(source: str) -> str:
    """A settlement's payment reference, as text, from its source key ("0x" and the bytes32 in hex)."""
    return id_text(bytes.fromhex(source[2:]))

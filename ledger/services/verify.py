"""Independent verification: recompute every award from the recorded facts and compare.

The recorded facts (enrolments, suspensions, policy versions, contracts, settlements,
attestations, redemptions) are read from the event log and replayed through the pure-Python
`AwardEngine`. The on-chain `PointsIssued` events and balances are only compared against the
result, never used to compute it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger.chain.encoding import id_text
from ledger.chain.logs import LogEvent
from ledger.domain.engine import Award, AwardEngine
from ledger.domain.money import Centipoints, Fen, format_points
from ledger.domain.policy import PolicyDocument, RuleParams
from ledger.domain.types import AppointmentTitle, ContractKind, MemberKind, PaymentPlan

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Discrepancy:
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


@dataclass(frozen=True)
class Issuance:
    member: str
    rule_id: str
    amount: Centipoints
    policy_version: int
    source: str
    block: int
    tx_hash: str


@dataclass
class VerificationReport:
    discrepancies: list[Discrepancy] = field(default_factory=list)
    expected: list[Award] = field(default_factory=list)
    issued: list[Issuance] = field(default_factory=list)
    redeemed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    events_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "discrepancies": [d.as_json() for d in self.discrepancies]}


class Verifier:
    """Feed it the deployment's events in chain order, then call `finish` with the balances."""

    def __init__(self, *, documents: Iterable[PolicyDocument] = (), namer: Callable[[str], str] | None = None) -> None:
        self.engine = AwardEngine()
        self.report = VerificationReport()
        self.documents = {doc.sha256: doc for doc in documents}
        self.name = namer or (lambda address: address)
        self._sources: dict[str, tuple[str, int]] = {}  # source id -> (what, block)
        self._version_rules: dict[int, dict[str, RuleParams]] = defaultdict(dict)
        self._version_source: dict[int, str] = {}
        self._suspended: set[str] = set()

    def _fail(self, check: str, message: str, event: LogEvent | None = None, **extra: Any) -> None:
        self.report.discrepancies.append(
            Discrepancy(
                check=check,
                message=message,
                block=event.block if event else None,
                tx_hash=event.tx_hash if event else None,
                **extra,
            )
        )

    def feed(self, event: LogEvent) -> None:
        self.report.events_read += 1
        handler = getattr(self, "_on_" + event.name, None)
        if handler is not None:
            handler(event)

    # --- facts ------------------------------------------------------------------------------

    def _on_MemberEnrolled(self, e: LogEvent) -> None:  # noqa: N802
        self.engine.enrol(e.args["account"], kind=MemberKind(e.args["kind"]), in_region=e.args["inRegion"])

    def _on_MemberSuspended(self, e: LogEvent) -> None:  # noqa: N802
        self.engine.suspend(e.args["account"])
        self._suspended.add(e.args["account"])

    def _on_MemberReinstated(self, e: LogEvent) -> None:  # noqa: N802
        self.engine.reinstate(e.args["account"])
        self._suspended.discard(e.args["account"])

    def _on_PolicyVersionPublished(self, e: LogEvent) -> None:  # noqa: N802
        self._version_source[e.args["version"]] = "0x" + bytes(e.args["sourceHash"]).hex()

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
        rule_id = id_text(a["ruleId"])
        self.engine.publish(rule_id, params)
        self._version_rules[a["version"]][rule_id] = params

    def _on_ContractRegistered(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        broker = None if a["broker"] == ZERO_ADDRESS or int(a["broker"], 16) == 0 else a["broker"]
        self.engine.register_contract(
            id_text(a["contractId"]),
            kind=ContractKind(a["kind"]),
            plan=PaymentPlan(a["plan"]),
            seller=a["seller"],
            buyer=a["buyer"],
            broker=broker,
        )

    def _source_once(self, source: str, what: str, e: LogEvent) -> bool:
        if source in self._sources:
            first, block = self._sources[source]
            self._fail(
                "unique-reference",
                f"reference {id_text(bytes.fromhex(source[2:]))} was recorded twice (first as {first} in block "
                f"{block}, again in block {e.block}); it may be counted only once",
                e,
            )
            return False
        self._sources[source] = (what, e.block)
        return True

    def _on_SettlementRecorded(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        source = "0x" + bytes(a["ref"]).hex()
        if not self._source_once(source, "a settlement", e):
            return
        contract = id_text(a["contractId"])
        if contract not in self.engine.contracts:
            self._fail("settlement-contract", f"settlement {id_text(a['ref'])} names unknown contract {contract}", e)
            return
        self.report.expected += self.engine.settle(
            ref=source, contract_id=contract, amount=Fen(a["amount"]), paid_at=a["paidAt"]
        )

    def _on_StartupRevenueAttested(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        source = "0x" + bytes(a["attestationId"]).hex()
        if self._source_once(source, "an attestation", e):
            self.report.expected += self.engine.attest_startup_revenue(
                attestation_id=source, member=a["member"], revenue=Fen(a["revenue"]), at=a["attestedAt"]
            )

    def _on_AppointmentAttested(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        source = "0x" + bytes(a["attestationId"]).hex()
        if self._source_once(source, "an attestation", e):
            self.report.expected += self.engine.attest_appointment(
                attestation_id=source, member=a["member"], title=AppointmentTitle(a["title"]), at=a["attestedAt"]
            )

    # --- what the chain did -----------------------------------------------------------------

    def _on_PointsIssued(self, e: LogEvent) -> None:  # noqa: N802
        a = e.args
        issuance = Issuance(
            member=a["member"],
            rule_id=id_text(a["ruleId"]),
            amount=Centipoints(a["amount"]),
            policy_version=a["policyVersion"],
            source="0x" + bytes(a["source"]).hex(),
            block=e.block,
            tx_hash=e.tx_hash,
        )
        self.report.issued.append(issuance)
        if issuance.source not in self._sources:
            self._fail(
                "issuance-backed",
                f"{format_points(issuance.amount)} points of {issuance.rule_id} were issued to "
                f"{self.name(issuance.member)} without a recorded settlement or attestation",
                e,
                member=issuance.member,
                rule=issuance.rule_id,
            )
        if issuance.member in self._suspended:
            self._fail(
                "suspended-member",
                f"{format_points(issuance.amount)} points of {issuance.rule_id} were issued to "
                f"{self.name(issuance.member)} while it was suspended",
                e,
                member=issuance.member,
                rule=issuance.rule_id,
            )

    def _on_PointsRedeemed(self, e: LogEvent) -> None:  # noqa: N802
        self.report.redeemed[e.args["member"]] += e.args["amount"]

    # --- comparison -------------------------------------------------------------------------

    def finish(
        self, *, balances: dict[str, int], total_supply: int | None = None, total_issued: int | None = None
    ) -> VerificationReport:
        """Compare expected awards with issuances, and balances with issued − redeemed."""
        self._check_policy_sources()
        self._compare_issuances()
        issued_by_member: dict[str, int] = defaultdict(int)
        for issuance in self.report.issued:
            issued_by_member[issuance.member] += issuance.amount
        expected_by_member: dict[str, int] = defaultdict(int)
        for award in self.report.expected:
            expected_by_member[award.member] += award.amount
        for member, balance in balances.items():
            redeemed = self.report.redeemed.get(member, 0)
            if balance != issued_by_member[member] - redeemed:
                self._fail(
                    "balance-consistent",
                    f"{self.name(member)} holds {format_points(balance)} points on chain, but its issuances less "
                    f"redemptions come to {format_points(issued_by_member[member] - redeemed)}",
                    member=member,
                )
            if balance != expected_by_member[member] - redeemed:
                self._fail(
                    "balance-recomputed",
                    f"{self.name(member)} holds {format_points(balance)} points on chain; recomputed from its "
                    f"settlements and the policy it should hold {format_points(expected_by_member[member] - redeemed)}",
                    member=member,
                )
        total = sum(i.amount for i in self.report.issued)
        if total_issued is not None and total_issued != total:
            self._fail(
                "totals",
                f"the points contract reports {format_points(total_issued)} issued, the events {format_points(total)}",
            )
        if total_supply is not None and total_supply != total - sum(self.report.redeemed.values()):
            self._fail("totals", "the total supply of points is not issued minus redeemed")
        return self.report

    def _compare_issuances(self) -> None:
        expected: dict[tuple[str, str, str], list[Award]] = defaultdict(list)
        for award in self.report.expected:
            expected[(award.source, award.member, award.rule_id)].append(award)
        actual: dict[tuple[str, str, str], list[Issuance]] = defaultdict(list)
        for issuance in self.report.issued:
            actual[(issuance.source, issuance.member, issuance.rule_id)].append(issuance)
        for key in sorted(set(expected) | set(actual)):
            source, member, rule = key
            want = sum(a.amount for a in expected.get(key, []))
            got = sum(i.amount for i in actual.get(key, []))
            where = actual[key][0] if actual.get(key) else None
            label = id_text(bytes.fromhex(source[2:]))
            if want != got:
                self._fail(
                    "award-recomputed",
                    f"{self.name(member)} received {format_points(got)} points of {rule} for {label}; the policy "
                    f"gives {format_points(want)}",
                    member=member,
                    rule=rule,
                    block=where.block if where else None,
                    tx_hash=where.tx_hash if where else None,
                )
            elif want and where is not None:
                versions = {a.policy_version for a in expected[key]}
                if where.policy_version not in versions:
                    self._fail(
                        "award-version",
                        f"the {rule} award to {self.name(member)} for {label} names policy version "
                        f"{where.policy_version}; the version in force was {sorted(versions)[0]}",
                        member=member,
                        rule=rule,
                        block=where.block,
                        tx_hash=where.tx_hash,
                    )

    def _check_policy_sources(self) -> None:
        for version, source in sorted(self._version_source.items()):
            document = self.documents.get(source[2:])
            if document is None:
                continue
            published = self._version_rules.get(version, {})
            for spec in document.rules:
                got = published.get(spec.id)
                want = spec.params
                if got is None:
                    self._fail(
                        "policy-file", f"policy version {version} ({document.id}) lacks rule {spec.id}", rule=spec.id
                    )
                    continue
                fields = ("rate_bps", "amount", "threshold", "window_start", "window_end", "effective_from")
                for name in fields:
                    if getattr(got, name) != getattr(want, name):
                        self._fail(
                            "policy-file",
                            f"policy version {version} publishes {spec.id} with {name} = {getattr(got, name)}, "
                            f"but the file {document.id} says {getattr(want, name)}",
                            rule=spec.id,
                        )


def verify_deployment(
    client: Any,
    *,
    from_block: int,
    documents: Iterable[PolicyDocument] = (),
    on_range: Callable[[int, int, int], None] | None = None,
) -> VerificationReport:
    """Read the whole history of a deployment and verify it (see `Verifier`)."""
    from ledger.chain.logs import iter_logs

    verifier = Verifier(documents=documents, namer=client.session.name_of)
    members: list[str] = []
    for event in iter_logs(client.session, client.addresses, from_block=from_block, on_range=on_range):
        if event.name == "MemberEnrolled":
            members.append(event.args["account"])
        verifier.feed(event)
    holders = set(members) | {i.member for i in verifier.report.issued}
    balances = {address: int(client.balance(address)) for address in sorted(holders)}
    points = client.contracts.points.functions
    return verifier.finish(
        balances=balances,
        total_supply=int(client.session.call(points.totalSupply())),
        total_issued=int(client.session.call(points.totalIssued())),
    )

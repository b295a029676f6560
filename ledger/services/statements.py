"""Institution statements and the market report, built from a verification of the whole history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from ledger.domain.dates import beijing_midnight, beijing_year, format_beijing
from ledger.domain.engine import PER_MEMBER_YEAR_RULES, Award
from ledger.domain.money import (
    Fen,
    format_hundredths,
    format_percent,
    format_points,
    format_yuan,
    group_thousands,
    readable_points,
)
from ledger.domain.policy import RULE_DEFINITIONS, PolicyDocument
from ledger.services.verify import Issuance, Redemption, SourceFact, VerificationReport

#: Section 一 of the action plan: 登记技术合同交易金额300亿元以上 by 2028, at least 300 × 10^8 yuan
#: (30 billion) of registered technology-contract value.
TARGET_2028_FEN = 300 * 10**8 * 100


@dataclass(frozen=True)
class StatementLine:
    """One issuance or redemption of a statement, traced to its payment or attestation and its rule."""

    date: str
    what: str  # "issued" or "redeemed"
    contract: str | None  # None: an attestation's, or a redemption (whose reference is its purpose)
    reference: str
    rule: str | None  # rule to basis: None for a redemption
    clause: str | None
    rule_title: str | None
    basis: str | None
    policy_version: int | None
    points: int
    balance: int
    block: int
    tx: str  # the transaction's hash

    def as_json(self) -> dict[str, Any]:
        """The line's fields in order (the columns of the CSV statement); points as decimal strings."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["points"] = format_points(self.points)
        out["balance"] = format_points(self.balance)
        return out


#: The columns of a CSV statement: the fields of a line.
STATEMENT_COLUMNS = tuple(f.name for f in fields(StatementLine))


@dataclass
class Statement:
    """A member's points over a year (or all time): opening balance, every line, totals by rule."""

    member: str
    address: str
    year: int | None
    opening: int
    lines: list[StatementLine] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)
    redeemed: int = 0
    verified: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def closing(self) -> int:
        return self.lines[-1].balance if self.lines else self.opening

    def as_json(self) -> dict[str, Any]:
        """The statement for a program (amounts as decimal strings)."""
        return {
            "member": self.member,
            "address": self.address,
            "year": self.year,
            "opening_balance": format_points(self.opening),
            "closing_balance": format_points(self.closing),
            "lines": [line.as_json() for line in self.lines],
            "by_rule": {rule: format_points(v) for rule, v in sorted(self.by_rule.items())},
            "redeemed": format_points(self.redeemed),
            "verified": self.verified,
            "problems": self.problems,
        }


def _basis(
    rule: str, report: VerificationReport, version: int, award: Award | None, attested: Fen | None = None
) -> str:
    """How the points of one issuance follow from the rule: its rate and the basis it moved, or its
    fixed amount (and the revenue `attested` that reached its threshold). `award` is the recomputed
    award the issuance matched (None when none did)."""
    params = report.versions.get((version, rule))
    if params is None:
        return "unknown version"
    if RULE_DEFINITIONS[rule]["kind"] == "fixed":
        fixed = f"fixed {readable_points(params.amount)} points"
        if attested is None or not params.threshold:
            return fixed
        return f"{fixed} (revenue {_yuan(attested)} yuan, threshold {_yuan(params.threshold)})"
    rate = format_hundredths(params.rate_bps).removesuffix(".00") + "%"
    if award is None or award.basis is None:
        return f"{rate} (no recomputed award matches this issuance)"
    before, after = award.basis
    total = "the year's service payments" if rule in PER_MEMBER_YEAR_RULES else "received"
    if before < params.threshold:
        return f"{rate} of {_yuan(after)} yuan {total} (threshold {_yuan(params.threshold)} reached)"
    return f"{rate} of {_yuan(after - before)} yuan paid ({total} {_yuan(before)} -> {_yuan(after)})"


def _yuan(fen: int) -> str:
    return group_thousands(format_yuan(fen))


def build_statement(
    report: VerificationReport,
    *,
    member: str,
    address: str,
    block_time: Callable[[int], int],
    policy: PolicyDocument | None = None,
    year: int | None = None,
) -> Statement:
    """Every issuance and redemption of `address` by date, with a running balance.

    An issuance is dated by its payment or attestation, a redemption by its block. A payment can be
    recorded after a redemption yet dated before it; in date order the balance still never goes
    below zero (a payment is never dated after its own block), and a year's statement adds up: its
    opening balance is everything dated before the year, its closing balance the opening plus its lines.
    """
    titles = {spec.id: spec.title for spec in policy.rules} if policy else {}
    recomputed = {(a.source, a.member, a.rule_id): a for a in report.expected if a.member == address}
    # (date, block, issuance or redemption, the issuance's recorded fact)
    entries: list[tuple[int, int, Issuance | Redemption, SourceFact | None]] = []
    for issuance in report.issued:
        if issuance.member == address:
            fact = report.sources.get(issuance.source)
            entries.append((fact.date if fact else block_time(issuance.block), issuance.block, issuance, fact))
    for redemption in report.redemptions:
        if redemption.member == address:
            entries.append((block_time(redemption.block), redemption.block, redemption, None))
    entries.sort(key=lambda e: (e[0], e[1]))  # stable: one block's entries stay in log order
    statement = Statement(member=member, address=address, year=year, opening=0)
    balance = 0
    by_rule: dict[str, int] = defaultdict(int)
    for date, _, entry, fact in entries:
        if year is not None and (entry_year := beijing_year(date)) != year:
            if entry_year > year:
                break  # in date order, the rest is later still
            statement.opening += entry.amount if isinstance(entry, Issuance) else -entry.amount
            balance = statement.opening
            continue
        if isinstance(entry, Issuance):
            rule = entry.rule_id
            definition = RULE_DEFINITIONS.get(rule, {})
            clause = f"clause {definition.get('clause', '?')}"
            line = StatementLine(
                date=format_beijing(date),
                what="issued",
                contract=fact.contract if fact else "?",
                reference=fact.label if fact else entry.source,
                rule=rule,
                clause=clause,
                rule_title=titles.get(rule, rule),
                basis=_basis(
                    rule,
                    report,
                    entry.policy_version,
                    recomputed.get((entry.source, address, rule)),
                    attested=fact.amount if fact and fact.kind == "startup-revenue" else None,
                ),
                policy_version=entry.policy_version,
                points=entry.amount,
                balance=balance + entry.amount,
                block=entry.block,
                tx=entry.tx_hash,
            )
            by_rule[rule] += entry.amount
        else:
            # dated by the day of its block, as `ledger points history` dates it (the time is the block's)
            line = StatementLine(
                date=format_beijing(beijing_midnight(date)),
                what="redeemed",
                contract=None,
                reference=entry.purpose,
                rule=None,
                clause=None,
                rule_title=None,
                basis=None,
                policy_version=None,
                points=-entry.amount,
                balance=balance - entry.amount,
                block=entry.block,
                tx=entry.tx_hash,
            )
            statement.redeemed += entry.amount
        balance = line.balance
        statement.lines.append(line)
    statement.by_rule = dict(by_rule)
    statement.problems = [d.message for d in report.discrepancies if d.member in (None, address)]
    statement.verified = not statement.problems
    return statement


def market_report(report: VerificationReport) -> dict[str, Any]:
    """Registered value and received amounts by year and kind, points by rule, progress to 2028."""
    totals = report.totals
    years = sorted({y for y, _ in totals.registered_value} | {y for y, _ in totals.received})
    rows = []
    for year in years:
        kinds = sorted(
            {k for y, k in totals.registered_value if y == year} | {k for y, k in totals.received if y == year}
        )
        for kind in kinds:
            rows.append(
                {
                    "year": year,
                    "kind": kind,
                    "contracts": totals.registered_count.get((year, kind), 0),
                    "registered_value": format_yuan(totals.registered_value.get((year, kind), 0)),
                    "received": format_yuan(totals.received.get((year, kind), 0)),
                }
            )
    registered = sum(totals.registered_value.values())
    return {
        "by_year_and_kind": rows,
        "registered_value": format_yuan(registered),
        "received": format_yuan(sum(totals.received.values())),
        "points_by_rule": {rule: format_points(v) for rule, v in sorted(totals.points_by_rule.items())},
        "points_issued": format_points(sum(totals.points_by_rule.values())),
        "points_redeemed": format_points(sum(report.redeemed.values())),
        "target_2028": {
            "registered_value": format_yuan(TARGET_2028_FEN),
            "progress_percent": format_percent(registered, TARGET_2028_FEN),
        },
        "verified": report.ok,
        "block": report.block,
    }

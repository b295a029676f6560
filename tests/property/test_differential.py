"""Differential testing: random scenarios through the Python engine and through the contracts agree.

Each example is a whole market (contracts of every kind, payments crossing thresholds and years,
suspensions, policy versions) played on eth-tester; the points per member and rule must equal the
pure-Python engine's, and the independent verification must pass.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import eth  # noqa: F401  (py-evm raises the recursion limit when first imported: not inside a Hypothesis test)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ledger.domain.money import format_yuan
from ledger.domain.scenario import parse_scenario
from ledger.services.runner import run_scenario
from tests.support import engine_points
from tests.vectors.load import cases

MEMBERS = cases()[0]["scenario"]["members"]
INSTRUMENTS = cases()[0]["scenario"]["instruments"]
START = int(datetime(2026, 1, 10, tzinfo=UTC).timestamp())
#: Versions may not precede the bundled policy's own (effective 2026-01-15, Beijing).
POLICY_START = int(datetime(2026, 1, 15, tzinfo=UTC).timestamp())
END = int(datetime(2027, 3, 1, tzinfo=UTC).timestamp())

TEMPLATES = [
    ("transfer", ["uni", "inst", "sme"], ["firm", "outside"], ["lump_sum"]),
    ("license", ["uni", "firm"], ["sme", "outside"], ["lump_sum", "deferred", "zero_upfront_staged_royalty"]),
    ("equity", ["inst", "uni"], ["firm", "outside"], ["lump_sum"]),
    ("service", ["lab"], ["sme", "firm"], ["lump_sum"]),
    ("development", ["uni"], ["firm"], ["lump_sum"]),
]


RATE_RULES = ["R11-LANDING", "R15-USER", "R15-PROVIDER", "R3-LICENSOR", "R3-LICENSEE", "R16-BROKER"]
FIXED_RULES = ["R11-SME", "R6-TALENT"]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def markets(draw: st.DrawFn) -> dict[str, Any]:
    contracts, events = [], []
    for n in range(draw(st.integers(min_value=1, max_value=3))):
        kind, sellers, buyers, plans = draw(st.sampled_from(TEMPLATES))
        seller, buyer = draw(st.sampled_from(sellers)), draw(st.sampled_from(buyers))
        amounts = draw(st.lists(st.integers(min_value=1, max_value=150_000_000), min_size=1, max_size=4))
        plan = draw(st.sampled_from(plans))
        contract = {
            "id": f"C{n}",
            "kind": kind,
            "seller": seller,
            "buyer": buyer,
            "signed": "2026-01-05",
            "plan": plan,
            "broker": draw(st.sampled_from([None, "agent"])),
            "instrument": "NMR-1" if kind == "service" else None,
            "milestones": [{"title": "all", "amount": format_yuan(sum(amounts)), "due": "2027-06-30"}],
        }
        contracts.append(contract)
        if plan == "zero_upfront_staged_royalty":  # paid once achieved, with royalties on reported revenue
            contract["royalty_bps"] = draw(st.integers(min_value=1, max_value=2_000))
            events.append((START - 1, {"type": "milestone_achieved", "contract": f"C{n}", "milestone": 0}))
            for q, revenue in enumerate(draw(st.lists(st.integers(1, 10**10), max_size=2))):
                reported = draw(st.integers(min_value=START, max_value=END))
                period = f"2026-Q{q + 1}"
                events.append(
                    (
                        reported,
                        {
                            "type": "revenue_report",
                            "contract": f"C{n}",
                            "period": period,
                            "revenue": format_yuan(revenue),
                        },
                    )
                )
                due = revenue * contract["royalty_bps"] // 10_000
                if due:
                    events.append(
                        (
                            draw(st.integers(min_value=reported, max_value=END)),
                            {
                                "type": "royalty_payment",
                                "ref": f"C{n}-R{q}",
                                "contract": f"C{n}",
                                "period": period,
                                "amount": format_yuan(due),
                            },
                        )
                    )
        for i, amount in enumerate(amounts):
            at = draw(st.integers(min_value=START, max_value=END))
            # An equity contract may be paid in a valuation of shares as well as in cash: both are received.
            paid_in = draw(st.sampled_from(["payment", "equity"])) if kind == "equity" else "payment"
            events.append(
                (at, {"type": paid_in, "ref": f"C{n}-P{i}", "contract": f"C{n}", "amount": format_yuan(amount)})
            )
    for member in draw(st.lists(st.sampled_from(["uni", "sme", "agent", "lab"]), max_size=2, unique=True)):
        suspended = draw(st.integers(min_value=START, max_value=END))
        events.append((suspended, {"type": "suspend", "member": member}))
        events.append(
            (suspended + draw(st.integers(min_value=1, max_value=90 * 86_400)), {"type": "reinstate", "member": member})
        )
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        events.append((draw(st.integers(min_value=POLICY_START, max_value=END)), draw(policy_versions())))
    if draw(st.booleans()):
        events.append(
            (
                draw(st.integers(min_value=START, max_value=END)),
                {
                    "type": "sme_revenue",
                    "member": "sme",
                    "year": 2026,
                    "revenue": format_yuan(draw(st.integers(19_999_000, 20_001_000))),
                },
            )
        )
    for title in draw(st.lists(st.sampled_from(["tech_vice_president", "industry_professor"]), max_size=3)):
        at = draw(st.integers(min_value=START, max_value=END))  # a title twice: the second earns nothing
        events.append((at, {"type": "talent_appointment", "member": "wang", "title": title}))
    events.sort(key=lambda pair: pair[0])
    return {
        "scenario": 1,
        "policy": None,
        "members": MEMBERS,
        "instruments": INSTRUMENTS,
        "contracts": contracts,
        "events": [{"at": _iso(at), **event} for at, event in events],
    }


@st.composite
def policy_versions(draw: st.DrawFn) -> dict[str, Any]:
    """A new version of one rule: another rate or threshold of a rate rule, another amount of a fixed one."""
    rule = draw(st.sampled_from(RATE_RULES + FIXED_RULES))
    if rule in FIXED_RULES:
        return {"type": "policy_version", "rule": rule, "amount": format_yuan(draw(st.integers(0, 2_000_000)))}
    change = draw(st.sampled_from(["rate_bps", "threshold"]))
    value = draw(st.integers(0, 3000)) if change == "rate_bps" else format_yuan(draw(st.integers(0, 400_000_000)))
    return {"type": "policy_version", "rule": rule, change: value}


def on_fresh_chains(examples: int) -> settings:
    """Each example deploys a fresh chain (~2 s): no shrinking phase, which would replay hundreds of
    them; a failure prints the whole generated market, which is small enough to read. CI runs a few;
    `LEDGER_DIFFERENTIAL_EXAMPLES=300` runs that many of each, for a deeper search on a local machine."""
    return settings(
        max_examples=int(os.environ.get("LEDGER_DIFFERENTIAL_EXAMPLES") or examples),
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@on_fresh_chains(10)
@given(markets())
def test_engine_and_contracts_award_the_same_points(document: dict[str, Any]) -> None:
    result = run_scenario(parse_scenario(document))
    assert result.rejected == [], [r.message for r in result.rejected]
    chain = {member: m["by_rule"] for member, m in result.members.items() if m["by_rule"]}
    assert chain == engine_points(document)
    assert result.verification.ok, result.verification.discrepancies


@st.composite
def markets_with_bad_events(draw: st.DrawFn) -> tuple[dict[str, Any], set[int]]:
    """`markets`, then at the end a resend of some payments: the same (a replay when its date is the
    same, else a conflict), under the same reference with another amount, more than is still due, or
    against a milestone the contract does not have; with the indexes of those events, every one of
    which must change nothing."""
    document = draw(markets())
    events = document["events"]
    last, good = events[-1]["at"], len(events)
    for payment in [e for e in events if e["type"] == "payment"]:
        spoil = draw(st.sampled_from(["none", "resend", "other amount", "too much", "no such milestone"]))
        if spoil == "resend":
            events.append({**payment, "at": last})
        elif spoil == "other amount":
            events.append({**payment, "at": last, "amount": "0.01"})
        elif spoil == "too much":
            events.append({**payment, "at": last, "ref": payment["ref"] + "-X", "amount": "99999999.99"})
        elif spoil == "no such milestone":
            events.append({**payment, "at": last, "ref": payment["ref"] + "-M", "milestone": 5})
    return document, set(range(good, len(events)))


@on_fresh_chains(5)
@given(markets_with_bad_events())
def test_refused_and_replayed_events_change_nothing(market: tuple[dict[str, Any], set[int]]) -> None:
    """The chain refuses, or takes as a replay, every event made bad and refuses no other, and its points
    are the engine's over the others: whatever it refused or replayed moved no basis and paid no one.
    (Which events the engine skips comes from how the market was made, not from what the chain said.)"""
    document, spoiled = market
    result = run_scenario(parse_scenario(document))
    refused = {r.event for r in result.rejected}
    assert refused <= spoiled <= refused | set(result.replayed)
    chain = {member: m["by_rule"] for member, m in result.members.items() if m["by_rule"]}
    assert chain == engine_points(document, skip=spoiled)
    assert result.verification.ok, result.verification.discrepancies

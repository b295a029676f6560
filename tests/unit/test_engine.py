"""The pure-Python award engine: formula and properties."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.dates import parse_date
from ledger.domain.engine import AwardEngine, cumulative_award
from ledger.domain.money import Fen
from ledger.domain.policy import load_policy
from ledger.domain.types import AppointmentTitle, ContractKind, MemberKind, PaymentPlan
from tests.strategies import fen, splits


def _engine() -> AwardEngine:
    engine = AwardEngine()
    for spec in load_policy().rules:
        engine.publish(spec.id, replace(spec.params, version=1))
    engine.enrol("uni", kind=MemberKind.UNIVERSITY, in_region=True)
    engine.enrol("firm", kind=MemberKind.ENTERPRISE, in_region=True)
    engine.enrol("agent", kind=MemberKind.BROKER, in_region=True)
    engine.enrol("lab", kind=MemberKind.INSTRUMENT_PROVIDER, in_region=True)
    engine.register_contract(
        "L",
        kind=ContractKind.LICENSE,
        plan=PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY,
        seller="uni",
        buyer="firm",
        broker="agent",
    )
    engine.register_contract(
        "S", kind=ContractKind.SERVICE, plan=PaymentPlan.LUMP_SUM, seller="lab", buyer="firm", broker=None
    )
    return engine


def _total(engine: AwardEngine, contract: str, parts: list[int]) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    day = parse_date("2026-03-01")
    for i, amount in enumerate(parts):
        for award in engine.settle(ref=f"P{i}", contract_id=contract, amount=Fen(amount), paid_at=day + i):
            key = (award.member, award.rule_id)
            totals[key] = totals.get(key, 0) + award.amount
    return totals


def test_cumulative_formula_is_inclusive_and_floors() -> None:
    assert cumulative_award(200_000_000, rate_bps=2000, threshold=200_000_000) == 40_000_000
    assert cumulative_award(199_999_999, rate_bps=2000, threshold=200_000_000) == 0
    assert cumulative_award(15, rate_bps=1000, threshold=0) == 1
    assert cumulative_award(30, rate_bps=1000, threshold=0) == 3


@settings(max_examples=200, deadline=None)
@given(total=fen, data=st.data())
def test_any_split_of_the_same_total_earns_the_same_points(total: int, data: st.DataObject) -> None:
    parts = data.draw(splits(total))
    assert sum(parts) == total
    assert _total(_engine(), "L", parts) == _total(_engine(), "L", [total])


@settings(max_examples=200, deadline=None)
@given(total=fen, data=st.data())
def test_service_split_within_a_year_earns_the_same_points(total: int, data: st.DataObject) -> None:
    parts = data.draw(splits(total))
    assert _total(_engine(), "S", parts) == _total(_engine(), "S", [total])


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(fen, min_size=1, max_size=6))
def test_awards_never_exceed_the_rate_of_the_money(parts: list[int]) -> None:
    totals = _total(_engine(), "L", parts)
    money = sum(parts)
    assert totals.get(("uni", "R11-LANDING"), 0) <= money * 2000 // 10_000
    assert totals.get(("agent", "R16-BROKER"), 0) == money * 50 // 10_000


def test_suspended_member_earns_nothing_and_never_later() -> None:
    engine = _engine()
    engine.suspend("uni")
    first = engine.settle(ref="P1", contract_id="L", amount=Fen(200_000_000), paid_at=parse_date("2026-03-01"))
    assert {a.member for a in first} == {"firm", "agent"}
    engine.reinstate("uni")
    later = engine.settle(ref="P2", contract_id="L", amount=Fen(100), paid_at=parse_date("2026-03-02"))
    landing = [a.amount for a in later if a.rule_id == "R11-LANDING"]
    assert landing == [20]


def test_each_rate_award_carries_the_basis_it_moved() -> None:
    """What a statement explains an award by: the contract's received total for R11, the member's
    service payments of the Beijing year for R15 (a new year starts from nothing)."""
    engine = _engine()
    first = engine.settle(ref="S1", contract_id="S", amount=Fen(3_000_000), paid_at=parse_date("2026-05-01"))
    second = engine.settle(ref="S2", contract_id="S", amount=Fen(2_000_000), paid_at=parse_date("2026-06-01"))
    next_year = engine.settle(ref="S3", contract_id="S", amount=Fen(1_000_000), paid_at=parse_date("2027-01-01"))
    assert [(a.rule_id, a.basis) for a in first + second + next_year] == [
        ("R15-USER", (0, 3_000_000)),
        ("R15-PROVIDER", (0, 3_000_000)),
        ("R15-USER", (3_000_000, 5_000_000)),
        ("R15-PROVIDER", (3_000_000, 5_000_000)),
        ("R15-USER", (0, 1_000_000)),
        ("R15-PROVIDER", (0, 1_000_000)),
    ]
    assert first[0] == replace(first[0], basis=None)  # the basis explains an award; it is not part of it


def test_only_an_enrolled_enterprise_earns_the_start_up_award() -> None:
    """R11-SME's eligibility (SPEC §2, §6): a university, or an account never enrolled, earns nothing, and
    keeps nothing used up; the enterprise earns the award once."""
    engine = _engine()
    day = parse_date("2026-06-01")
    for member in ("uni", "0xnobody", "firm", "firm"):
        engine.attest_startup_revenue(attestation_id=f"A-{member}", member=member, revenue=Fen(30_000_000), at=day)
    assert engine.startup_awarded == {"firm"}
    again = engine.attest_startup_revenue(attestation_id="A-uni-2", member="uni", revenue=Fen(30_000_000), at=day)
    assert again == []
    engine.enrol("spinout", kind=MemberKind.ENTERPRISE, in_region=True)
    [award] = engine.attest_startup_revenue(attestation_id="A-s", member="spinout", revenue=Fen(30_000_000), at=day)
    assert (award.member, award.rule_id, award.amount) == ("spinout", "R11-SME", 1_000_000)


def test_only_an_enrolled_member_earns_the_talent_award() -> None:
    engine = _engine()
    day = parse_date("2026-06-01")
    title = AppointmentTitle.INDUSTRY_PROFESSOR
    assert engine.attest_appointment(attestation_id="T0", member="0xnobody", title=title, at=day) == []
    [award] = engine.attest_appointment(attestation_id="T1", member="uni", title=title, at=day)
    assert (award.member, award.rule_id, award.amount) == ("uni", "R6-TALENT", 500_000)

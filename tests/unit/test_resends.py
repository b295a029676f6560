"""A payment or a contract registration as the client sends it, as the recorded events give it back,
and what a resend changes of it."""

from __future__ import annotations

from dataclasses import replace

from ledger.chain.encoding import text_id
from ledger.domain.dates import parse_date, parse_instant
from ledger.domain.money import Fen
from ledger.domain.types import MILESTONE_UNSPECIFIED, ContractKind, PaymentPlan, SettlementKind
from ledger.services.client import ZERO32, ZERO_ADDRESS, ContractInput, MilestoneInput, SettlementInput

PAID = SettlementInput(
    ref="B-1", contract="TC-1", amount=Fen(150_000_000), paid_at=parse_date("2026-03-02"), milestone=0
)


def _event_args(s: SettlementInput) -> dict[str, object]:
    """The arguments of the `SettlementRecorded` event that recording `s` emits, as the log decoder gives them."""
    ref, contract, milestone, period, amount, kind, paid_at, evidence = s.as_tuple()
    return {
        "ref": ref,
        "contractId": contract,
        "milestone": milestone,
        "period": period,
        "amount": amount,
        "kind": kind,
        "paidAt": paid_at,
        "evidenceHash": evidence,
    }


def test_a_recorded_event_gives_back_the_settlement_sent() -> None:
    royalty = replace(PAID, milestone=None, period="2026Q2", kind=SettlementKind.EQUITY, evidence_hash=b"\xab" * 32)
    unnamed = replace(PAID, milestone=None)
    for sent in (PAID, royalty, unnamed):
        assert SettlementInput.recorded(_event_args(sent)) == sent
    assert _event_args(unnamed)["milestone"] == MILESTONE_UNSPECIFIED


def test_an_identical_resend_differs_in_nothing() -> None:
    assert PAID.differences(replace(PAID)) == []


def test_each_field_a_resend_changes_is_named_with_both_values() -> None:
    changed = SettlementInput(
        ref="B-1",
        contract="TC-2",
        amount=Fen(100),
        paid_at=parse_instant("2026-03-03T09:30:00+08:00"),
        period="2026Q2",
        kind=SettlementKind.EQUITY,
        evidence_hash=bytes.fromhex("ab" * 32),
    )
    assert changed.differences(PAID) == [
        "contract TC-2 here, TC-1 recorded",
        "for royalty period 2026Q2 here, milestone 0 recorded",
        "amount 1.00 yuan here, 1,500,000.00 yuan recorded",
        "kind equity here, cash recorded",
        "date 2026-03-03T09:30:00+08:00 here, 2026-03-02 recorded",
        f"evidence 0x{'ab' * 32} here, none recorded",
    ]


def test_the_only_milestone_unnamed_is_told_apart_from_milestone_zero() -> None:
    """The chain hashes what it was sent: a payment recorded without naming the only milestone and its
    resend naming milestone 0 conflict, and the sentence says why."""
    assert PAID.differences(replace(PAID, milestone=None)) == ["for milestone 0 here, the only milestone recorded"]


SELLER, BUYER, BROKER = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
NAMES = {"0x1111111111111111111111111111111111111111": "imu", "0x2222222222222222222222222222222222222222": "steel"}
REGISTERED = ContractInput(
    id="TC-1",
    kind=ContractKind.LICENSE,
    plan=PaymentPlan.DEFERRED,
    seller=SELLER,
    buyer=BUYER,
    signed=parse_date("2026-02-01"),
    milestones=(MilestoneInput("deferred", Fen(200_000_000), parse_date("2027-02-01")),),
)


def _registration_events(c: ContractInput) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The arguments of the `ContractRegistered` and `MilestoneAdded` events registering `c` emits."""
    registered = {
        "contractId": text_id(c.id),
        "seller": c.seller,
        "buyer": c.buyer,
        "kind": int(c.kind),
        "plan": int(c.plan),
        "broker": c.broker or ZERO_ADDRESS,
        "instrumentId": text_id(c.instrument) if c.instrument else ZERO32,
        "signedAt": c.signed,
        "value": sum(m.amount for m in c.milestones),
        "royaltyBps": c.royalty_bps,
        "termsHash": c.terms_hash,
    }
    added = [{"index": i, "title": m.title, "amount": m.amount, "dueDate": m.due} for i, m in enumerate(c.milestones)]
    return registered, added[::-1]  # in any order: they are put back in index order


def test_recorded_registration_events_give_back_the_registration_sent() -> None:
    with_all = replace(REGISTERED, broker=BROKER, instrument="NMR-1", royalty_bps=250, terms_hash=b"\x01" * 32)
    two = replace(
        REGISTERED, milestones=(*REGISTERED.milestones, MilestoneInput("more", Fen(1), parse_date("2027-03-01")))
    )
    for sent in (REGISTERED, with_all, two):
        registered, added = _registration_events(sent)
        assert ContractInput.recorded(registered, added) == sent


def _name_of(address: str) -> str:
    return NAMES.get(address.lower(), address)


def test_each_field_a_registration_changes_is_named_with_both_values() -> None:
    changed = ContractInput(
        id="TC-1",
        kind=ContractKind.TRANSFER,
        plan=PaymentPlan.STAGED,
        seller=BUYER,
        buyer=SELLER,
        signed=parse_date("2026-02-02"),
        milestones=(MilestoneInput("all", Fen(100), parse_date("2026-06-30")),),
        broker=BROKER,
        instrument="NMR-1",
        royalty_bps=1,
        terms_hash=b"\x01" * 32,
    )
    assert changed.differences(REGISTERED, name_of=_name_of) == [
        "kind transfer here, license recorded",
        "plan staged here, deferred recorded",
        "seller steel here, imu recorded",
        "buyer imu here, steel recorded",
        "broker 0x3333333333333333333333333333333333333333 here, none recorded",
        "instrument NMR-1 here, none recorded",
        "signing date 2026-02-02 here, 2026-02-01 recorded",
        "royalty rate 1 bps here, 0 bps recorded",
        f"terms hash 0x{'01' * 32} here, none recorded",
        "milestones 'all' 1.00 yuan due 2026-06-30 here, 'deferred' 2,000,000.00 yuan due 2027-02-01 recorded",
    ]
    assert REGISTERED.differences(replace(REGISTERED), name_of=_name_of) == []

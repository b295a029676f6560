"""A payment as the client sends it, as a recorded event gives it back, and what a resend changes."""

from __future__ import annotations

from dataclasses import replace

from ledger.domain.dates import parse_date, parse_instant
from ledger.domain.money import Fen
from ledger.domain.types import MILESTONE_UNSPECIFIED, SettlementKind
from ledger.services.client import SettlementInput

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

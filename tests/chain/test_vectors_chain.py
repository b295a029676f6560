"""The shared award vectors through the contracts on eth-tester (via `ledger run`'s runner)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.domain.scenario import parse_scenario
from ledger.services.runner import run_scenario
from tests.vectors.load import case_ids, cases


@pytest.mark.parametrize("case", cases(), ids=case_ids())
def test_contracts_match_hand_computed_vector(case: dict[str, Any]) -> None:
    result = run_scenario(parse_scenario(case["scenario"]))
    points = {member: m["by_rule"] for member, m in result.members.items() if m["by_rule"]}
    assert points == case["expect"]
    assert {str(r.event): r.error for r in result.rejected} == case.get("rejected", {})
    assert result.replayed == case.get("replayed", [])
    assert result.verification.ok, result.verification.discrepancies


def test_an_event_before_signing_is_refused_in_the_chains_own_words() -> None:
    (case,) = [c for c in cases() if c["name"] == "events-before-signing"]
    result = run_scenario(parse_scenario(case["scenario"]))
    assert [r.message for r in result.rejected[:2]] == [
        "the date 2026-02-20 is before contract C1 was signed (2026-03-01)",
        "the payment is dated 2026-02-25, before contract C1 was signed (2026-03-01)",
    ]

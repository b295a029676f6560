"""What a scenario file may say: who needs a credit code, who may broker a contract, which numbers a
policy version may change; a file that says otherwise is refused in a sentence that names the place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.scenario import parse_scenario
from ledger.errors import ScenarioError

DEMO = Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json"


def _demo() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize(("index", "kind"), [(1, "institute"), (2, "enterprise"), (4, "instrument_provider")])
def test_an_institution_without_a_credit_code_is_refused(index: int, kind: str) -> None:
    document = _demo()
    member = document["members"][index]
    del member["uscc"]
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    assert str(refused.value) == (
        f"members[{index}].uscc: member {member['id']!r} is of kind {kind} and needs a unified social credit code"
    )


def test_an_individual_needs_no_credit_code() -> None:
    document = _demo()
    (person,) = [m for m in document["members"] if m["kind"] == "individual"]
    assert person.get("uscc") is None
    assert any(m.id == person["id"] for m in parse_scenario(document).members)


@pytest.mark.parametrize("party", ["seller", "buyer"])
def test_a_party_named_as_the_contracts_broker_makes_the_file_invalid(party: str) -> None:
    document = _demo()
    contract = document["contracts"][0]  # TC-1 has a broker
    contract["broker"] = contract[party]
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    assert str(refused.value) == (
        f"contracts[0].broker: {contract[party]!r} is a party to the contract and cannot be its broker too"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule": "R6-TALENT", "rate_bps": 500}, "R6-TALENT pays a fixed amount, so it has no rate_bps"),
        ({"rule": "R11-LANDING", "amount": "10.00"}, "R11-LANDING pays a rate, so it has no fixed amount"),
    ],
)
def test_a_policy_version_changing_a_number_its_rule_does_not_have_makes_the_file_invalid(
    change: dict[str, Any], message: str
) -> None:
    document = _demo()
    document["events"].append({"at": "2028-12-01", "type": "policy_version", **change})
    where = f"events[{len(document['events']) - 1}].{next(k for k in change if k != 'rule')}"
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    assert str(refused.value) == f"{where}: {message}"


@pytest.mark.parametrize(
    ("plan", "due", "message"),
    [
        ("lump_sum", "2026-01-31", "the milestone is due 2026-01-31, before the contract was signed (2026-02-01)"),
        ("deferred", "2026-01-31", "the milestone is due 2026-01-31, before the contract was signed (2026-02-01)"),
        ("zero_upfront_staged_royalty", "2026-02-01", "a zero-upfront plan has no milestone due on or before signing"),
    ],
)
def test_a_milestone_due_before_signing_makes_the_file_invalid(plan: str, due: str, message: str) -> None:
    document = _demo()
    contract = document["contracts"][0]
    contract.update(signed="2026-02-01", plan=plan, royalty_bps=300 if plan.startswith("zero") else 0)
    contract["milestones"] = [{"title": "all", "amount": contract["milestones"][0]["amount"], "due": due}]
    contract.pop("value", None)
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    assert str(refused.value) == f"contracts[0].milestones[0].due: {message}"


@pytest.mark.parametrize("title", ["", "   "])
def test_a_blank_milestone_title_makes_the_file_invalid(title: str) -> None:
    document = _demo()
    document["contracts"][0]["milestones"][0]["title"] = title
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    assert str(refused.value).startswith("contracts[0].milestones[0].title: a milestone title must say what")

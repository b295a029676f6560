"""What a scenario file may say of its members, contracts and events (who needs a credit code, who may
broker a contract, what names an instrument, what a payment plan allows, which milestone an event
means); a file that says otherwise is refused in a sentence that names the place."""

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


def test_a_broker_may_be_a_person_without_a_credit_code() -> None:
    """技术经纪人 are people as often as firms: a broker's code is optional, checked when given."""
    document = _demo()
    (broker,) = [m for m in document["members"] if m["kind"] == "broker"]
    broker["uscc"] = None
    assert next(m for m in parse_scenario(document).members if m.id == broker["id"]).uscc is None
    broker["uscc"] = "91150102MA0R54321X"  # given, it must still be a valid code
    with pytest.raises(ScenarioError, match=r"members\[\d\]\.uscc: credit code"):
        parse_scenario(document)


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_optional_field_written_as_empty_text_is_left_out(empty: str) -> None:
    """As null: an individual's credit code, a contract's broker, the instrument of a contract that is not a
    service; an institution's code so written is still missing, and a service contract's instrument too."""
    document = _demo()
    (person,) = [m for m in document["members"] if m["kind"] == "individual"]
    person["uscc"] = empty
    document["contracts"][0]["broker"] = empty  # TC-1 had one
    document["contracts"][1]["instrument"] = empty  # TC-2, an equity contract
    scenario = parse_scenario(document)
    assert next(m for m in scenario.members if m.id == person["id"]).uscc is None
    assert scenario.contract_index["TC-1"].broker is None
    assert scenario.contract_index["TC-2"].instrument is None
    document["members"][0]["uscc"] = empty
    with pytest.raises(ScenarioError, match=r"members\[0\]\.uscc: member 'imu' is of kind university and needs a"):
        parse_scenario(document)
    document = _demo()
    document["contracts"][3]["instrument"] = empty  # TC-4, a service contract
    with pytest.raises(ScenarioError, match=r"contracts\[3\]\.instrument: a service contract must name"):
        parse_scenario(document)


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


@pytest.mark.parametrize("instrument", [[], {}, 7, True])
def test_an_instrument_that_is_not_a_name_makes_the_file_invalid_in_a_sentence(instrument: object) -> None:
    document = _demo()
    document["contracts"][3]["instrument"] = instrument  # TC-4, a service contract
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    assert str(refused.value) == "contracts[3].instrument: instrument must name an instrument"


def test_an_achievement_may_leave_out_the_only_milestone_of_its_contract() -> None:
    """As a payment may: TC-1 has one milestone, TC-3 two."""
    document = _demo()
    del document["events"][0]["milestone"]
    assert parse_scenario(document).events[0].milestone == 0
    del document["events"][3]["milestone"]
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    assert str(refused.value) == "events[3].milestone: which milestone? contract TC-3 has 2: give its 0-based index"


def test_a_policy_path_is_found_beside_the_scenario_else_where_the_command_runs_else_among_the_bundled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = DEMO.parents[2]
    bundled = repository / "policy" / "mkj-2026.toml"
    monkeypatch.chdir(tmp_path)
    for named in ("policy/mkj-2026.toml", "mkj-2026.toml", "mkj-2026"):  # a path, a file name, the policy's id
        assert parse_scenario({**_demo(), "policy": named}, base=tmp_path).policy_path == bundled
    with pytest.raises(ScenarioError, match="policy must be null, a policy file's path or a bundled policy's id"):
        parse_scenario({**_demo(), "policy": {"rules": []}}, base=tmp_path)
    with pytest.raises(ScenarioError) as refused:
        parse_scenario({**_demo(), "policy": "mkj-2027"}, base=tmp_path)
    assert str(refused.value) == (
        "policy: policy file 'mkj-2027' does not exist beside the scenario file, here or among the bundled "
        "policies (mkj-2026)"
    )
    for unnameable in ("x" * 5000, "a\x00b"):  # no file can have such a name: the file is invalid, not the system
        with pytest.raises(ScenarioError, match="does not exist beside the scenario file"):
            parse_scenario({**_demo(), "policy": unnameable}, base=tmp_path)
    document = {**_demo(), "policy": "policy/mkj-2026.toml"}
    (tmp_path / "policy").mkdir()
    copy = tmp_path / "policy" / "mkj-2026.toml"
    copy.write_bytes(bundled.read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert parse_scenario(document, base=elsewhere).policy_path == copy  # where the command runs, before the bundled
    monkeypatch.chdir(repository)
    assert parse_scenario(document, base=tmp_path).policy_path == copy  # beside the scenario file, first of all


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["events"][1].pop("amount"),
            'events[1].amount: amount is missing: a decimal string such as "1234.50"',
        ),
        (lambda d: d["events"][0].pop("at"), "events[0].at: at is missing: a date (YYYY-MM-DD) or an ISO-8601 time"),
        (lambda d: d["events"][0].pop("type"), "events[0].type: type is missing; known: milestone_achieved, payment"),
        (lambda d: d["contracts"][0].pop("kind"), "contracts[0].kind: kind is missing; one of: transfer, license"),
        (lambda d: d["members"][0].pop("kind"), "members[0].kind: kind is missing; one of: university, institute"),
        (lambda d: d["contracts"][0].pop("signed"), "contracts[0].signed: signed is missing: a date of the form"),
        (
            lambda d: d["events"].append({"at": "2027-06-01", "type": "policy_version", "rate_bps": 100}),
            "rule is missing; known: R11-LANDING",
        ),
    ],
)
def test_a_field_left_out_is_named_as_missing(change: Any, message: str) -> None:
    refusal = _refusal_of(change)
    assert message in refusal
    assert "None" not in refusal


def _refusal_of(change: Any) -> str:
    """The refusal of the demo scenario changed by `change`."""
    document = _demo()
    change(document)
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    return str(refused.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["contracts"][3].update(instrument=None),
            "contracts[3].instrument: a service contract must name a shared instrument",
        ),
        (
            lambda d: d["contracts"][4].update(instrument="NMR-1"),
            "contracts[4].instrument: only a service contract names an instrument",
        ),
        (
            lambda d: d["contracts"][3].update(seller="imu"),
            "contracts[3].seller: the seller 'imu' is not the provider of instrument 'NMR-1' ('nmr-lab')",
        ),
        (
            lambda d: d["contracts"][0]["milestones"][0].update(due="2026-02-01"),
            "contracts[0].milestones[0].due: a zero-upfront plan has no milestone due on or before signing",
        ),
        (
            lambda d: d["contracts"][2].update(plan="deferred"),
            "contracts[2].milestones: a deferred plan has exactly one milestone",
        ),
        (
            lambda d: d["contracts"][1].update(royalty_bps=300),
            "contracts[1].royalty_bps: only a zero_upfront_staged_royalty plan carries a royalty rate",
        ),
        (
            lambda d: d["events"][3].pop("milestone"),
            "events[3].milestone: which milestone? contract TC-3 has 2: give its 0-based index",
        ),
        (
            lambda d: d["events"][4].update(milestone=True),
            "events[4].milestone: milestone must be a 0-based index below",
        ),
        (
            lambda d: d["events"].append({"at": "2027-06-01", "type": "policy_version", "rule": "R16-BROKER"}),
            "a policy version changes rate_bps, amount or threshold",
        ),
        (
            lambda d: d["events"].append(
                {"at": "2027-06-01", "type": "policy_version", "rule": "R16-BROKER", "rate_bps": 10_001}
            ),
            "rate_bps must be a whole number from 0 to 10000",
        ),
    ],
)
def test_a_contract_or_event_its_kind_or_plan_rules_out_is_refused_where_it_is(change: Any, message: str) -> None:
    assert message in _refusal_of(change)


def test_a_field_the_format_does_not_have_is_ignored_with_a_warning_naming_it() -> None:
    """The format is a stable interface: a file with more fields still runs, but a misspelt field
    (`amout`) would leave its author's value unread, so each is named."""
    document = _demo()
    document["comment"] = "a market's year"
    document["members"][0]["inregion"] = True
    document["contracts"][0]["milestones"][0]["amout"] = "1.00"
    document["events"][1]["amout"] = "1.00"
    document["events"][0]["note"] = "pilot line ready"
    assert parse_scenario(document).warnings == (
        "(top level): 'comment' is not a field of a scenario; it is ignored",
        "members[0]: 'inregion' is not a field of a member; it is ignored",
        "contracts[0].milestones[0]: 'amout' is not a field of a milestone; it is ignored",
        "events[0]: 'note' is not a field of a milestone_achieved event; it is ignored",
        "events[1]: 'amout' is not a field of a payment event; it is ignored",
    )
    assert parse_scenario(_demo()).warnings == ()


def test_a_file_may_leave_out_the_format_version_but_not_name_another() -> None:
    document = _demo()
    del document["scenario"]
    assert parse_scenario(document) == parse_scenario(_demo())
    assert _refusal_of(lambda d: d.update(scenario=2)) == (
        'scenario: "scenario" is the format version and only 1 exists; this file says 2'
    )


def test_a_buyer_that_leaves_out_in_region_is_read_as_outside_the_region_with_a_warning() -> None:
    document = _demo()
    buyer = document["contracts"][0]["buyer"]
    sellers_only = {c["seller"] for c in document["contracts"]} - {c["buyer"] for c in document["contracts"]}
    for member in document["members"]:
        if member["id"] in {buyer, *sellers_only}:
            del member["in_region"]
    parsed = parse_scenario(document)
    assert not parsed.member_index[buyer].in_region
    index = next(i for i, m in enumerate(document["members"]) if m["id"] == buyer)
    assert parsed.warnings == (
        f"members[{index}]: {buyer!r} does not say in_region; it is read as false (outside the region), so "
        "what it buys earns no clause 11 award",
    )


def test_a_policy_version_giving_what_its_rule_never_reads_runs_with_a_warning() -> None:
    document = _demo()
    at = document["events"][-1]["at"]
    document["events"] += [
        {"at": at, "type": "policy_version", "rule": "R11-LANDING", "amount": "5.00"},
        {"at": at, "type": "policy_version", "rule": "R6-TALENT", "rate_bps": 100, "amount": "6000.00"},
    ]
    last = len(document["events"]) - 1
    assert parse_scenario(document).warnings == (
        f"events[{last - 1}]: R11-LANDING is a rate rule: 'amount' has no effect on its awards",
        f"events[{last}]: R6-TALENT is a fixed-award rule: 'rate_bps' has no effect on its awards",
    )


def test_one_institution_declared_as_two_members_runs_with_a_warning() -> None:
    """`ledger member enrol` refuses a second active account for a credit code; a scenario file still
    plays one (SPEC section 7 does not refuse it), but is told what that does to once-per-member awards."""
    document = _demo()
    first = document["members"][0]
    document["members"].append({**first, "id": "imu-again"})
    document["members"].append({"id": "someone", "kind": "individual"})  # no credit code: nothing shared
    parsed = parse_scenario(document)
    assert parsed.warnings == (
        f"members[{len(document['members']) - 2}]: 'imu-again' has the credit code of members[0] {first['id']!r}; "
        "one institution declared as two members is paid what is paid once per member twice",
    )
    assert [m.id for m in parsed.members][-2:] == ["imu-again", "someone"]


@pytest.mark.parametrize(
    ("section", "what"), [("members", "member"), ("instruments", "instrument"), ("contracts", "contract")]
)
def test_an_id_declared_twice_makes_the_file_invalid_where_it_is_repeated(section: str, what: str) -> None:
    document = _demo()
    entries = document[section]
    entries.append(dict(entries[0]))
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(document)
    place = len(entries) - 1
    assert str(refused.value) == f"{section}[{place}].id: {what} id {entries[0]['id']!r} is declared twice"

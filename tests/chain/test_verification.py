"""Independent verification catches tampering; the index syncs only new blocks; statements trace points."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ledger.chain.encoding import text_id
from ledger.chain.logs import LogEvent
from ledger.domain.dates import parse_date
from ledger.domain.money import Centipoints, Fen
from ledger.domain.policy import load_policy, repository_policies
from ledger.domain.types import AppointmentTitle, MemberKind
from ledger.services.client import SettlementInput
from ledger.services.statements import Statement, build_statement, market_report
from ledger.services.sync import LogIndex
from ledger.services.verify import VerificationReport, Verifier, verify_deployment
from tests.chain.conftest import World

D = parse_date


def _verify(world: World, index: LogIndex | None = None, *, details: bool = True) -> VerificationReport:
    return verify_deployment(world.client, from_block=0, documents=repository_policies(), index=index, details=details)


def _publish_r11_at_25_percent_under_the_files_name(world: World) -> None:
    """The deployment publishes R11 at 25% while claiming the hash of policy/mkj-2026.toml."""
    honest = load_policy()
    rules = tuple(
        replace(spec, params=replace(spec.params, rate_bps=2500)) if spec.id == "R11-LANDING" else spec
        for spec in honest.rules
    )
    world.client.publish_document(world.regulator, replace(honest, rules=rules))


def _pay_c1(world: World, ref: str, milestone: int, amount: int, at: str) -> None:
    world.client.settle(
        world.operator, SettlementInput(ref=ref, contract="C1", milestone=milestone, amount=Fen(amount), paid_at=D(at))
    )


def _complete_c1(world: World) -> None:
    """C1 (university -> in-region firm, broker agent) paid in full: 2,500,000.00 crosses the threshold."""
    for index in (0, 1):
        world.client.achieve_milestone(world.operator, contract="C1", index=index, at=D("2026-03-01"))
    _pay_c1(world, "P1", 0, 150_000_000, "2026-03-02")
    _pay_c1(world, "P2", 1, 100_000_000, "2026-04-02")


def test_honest_history_verifies(world: World) -> None:
    _complete_c1(world)
    world.client.redeem(world.uni, points=Centipoints(100), purpose="instrument booking")
    history = world.client.points_history(world.uni.address, from_block=0)
    assert [(h.rule, h.source, h.purpose, h.points, h.balance) for h in history] == [
        ("R11-LANDING", "P2", None, 50_000_000, 50_000_000),
        (None, None, "instrument booking", -100, 49_999_900),
    ]
    report = _verify(world)
    assert report.ok, report.discrepancies
    assert {(i.member, i.rule_id, i.amount) for i in report.issued} == {
        (world.uni.address, "R11-LANDING", 50_000_000),
        (world.agent.address, "R16-BROKER", 750_000),
        (world.agent.address, "R16-BROKER", 500_000),
    }


@pytest.mark.parametrize("per_query", [400, 1])
def test_history_dates_each_issuance_by_its_payment_or_attestation(
    world: World, monkeypatch: pytest.MonkeyPatch, per_query: int
) -> None:
    """The history a member reads names, beside each issuance, the date the rules used (the payment's or
    the attestation's, not the block's) and the contract paid; a redemption is dated by its block. (The
    facts are asked for by id, so many per query: one at a time gives the same.)"""
    monkeypatch.setattr("ledger.services.client.SOURCES_PER_QUERY", per_query)
    _complete_c1(world)
    world.client.attest_appointment(
        world.operator, member=world.uni.address, title=AppointmentTitle.INDUSTRY_PROFESSOR, at=D("2026-05-01")
    )
    world.client.redeem(world.uni, points=Centipoints(100), purpose="instrument booking")
    history = world.client.points_history(world.uni.address, from_block=0)
    assert [(h.rule, h.dated, h.contract, h.points) for h in history] == [
        ("R11-LANDING", D("2026-04-02"), "C1", 50_000_000),
        ("R6-TALENT", D("2026-05-01"), None, 500_000),
        (None, None, None, -100),
    ]


@pytest.mark.parametrize("indexed", [False, True], ids=["from-the-node", "through-the-index"])
def test_blocks_mined_while_verifying_do_not_set_balances_apart_from_events(
    world: World, tmp_path: Path, indexed: bool
) -> None:
    """An import running beside the verification: an award mined after the events were read is neither
    in the events nor in the balances the verification compares them with."""
    for index in (0, 1):
        world.client.achieve_milestone(world.operator, contract="C1", index=index, at=D("2026-03-01"))
    _pay_c1(world, "P1", 0, 150_000_000, "2026-03-02")
    mined_meanwhile: list[int] = []

    def pay_while_reading(done: int, total: int, logs: int) -> None:
        if not mined_meanwhile:  # P2 crosses the threshold: the university earns 500,000.00 points
            _pay_c1(world, "P2", 1, 100_000_000, "2026-04-02")
            mined_meanwhile.append(world.session.head())

    index = LogIndex(tmp_path / "index.sqlite") if indexed else None
    report = verify_deployment(
        world.client, from_block=0, documents=repository_policies(), index=index, on_range=pay_while_reading
    )
    assert mined_meanwhile and world.client.balance(world.uni.address) == 50_000_000
    assert report.ok, report.discrepancies
    assert report.issued_by_member.get(world.uni.address, 0) == 0  # as of the block the events end at
    again = _verify(world, index)  # the next verification reads P2 and its award
    assert again.ok, again.discrepancies
    assert again.issued_by_member[world.uni.address] == 50_000_000


def test_wrong_rate_published_under_the_files_name_is_caught(world: World) -> None:
    _publish_r11_at_25_percent_under_the_files_name(world)
    _complete_c1(world)
    report = _verify(world)
    checks = {(d.check, d.member, d.rule) for d in report.discrepancies}
    assert ("policy-file", None, "R11-LANDING") in checks
    assert ("award-recomputed", world.uni.address, "R11-LANDING") in checks
    message = next(d.message for d in report.discrepancies if d.check == "award-recomputed")
    assert "received 625,000.00 points of R11-LANDING for P2; the policy gives 500,000.00" in message


def _verify_with_a_rogue_mint_to_firm(world: World) -> VerificationReport:
    """A points contract wired to an ordinary account (not the ledger) lets that account mint."""
    from ledger.chain.artifacts import artifact
    from ledger.services.client import LedgerClient

    rogue_points, _ = world.session.deploy(world.regulator, artifact("Points"), world.client.addresses["Membership"])
    points = world.session.contract(rogue_points, artifact("Points"))
    world.session.transact(world.regulator, points.functions.wireIssuer(world.regulator.address))
    world.session.transact(
        world.regulator,
        points.functions.issue(world.firm.address, 123_456, text_id("R11-LANDING"), 1, text_id("FORGED")),
    )
    forged = replace(world.client.contracts, points=points)
    return verify_deployment(LedgerClient(world.session, forged), from_block=0, documents=repository_policies())


def test_points_minted_outside_the_settlement_path_are_caught(world: World) -> None:
    report = _verify_with_a_rogue_mint_to_firm(world)
    backed = [d for d in report.discrepancies if d.check == "issuance-backed"]
    assert len(backed) == 1
    assert backed[0].member == world.firm.address and backed[0].rule == "R11-LANDING"
    assert "1,234.56 points of R11-LANDING were issued to firm without a recorded settlement" in backed[0].message


def test_points_issued_to_a_suspended_member_are_caught(world: World) -> None:
    world.client.suspend(world.regulator, world.firm.address)
    report = _verify_with_a_rogue_mint_to_firm(world)
    suspended = [d for d in report.discrepancies if d.check == "suspended-member"]
    assert [(d.member, d.rule) for d in suspended] == [(world.firm.address, "R11-LANDING")]
    assert "1,234.56 points of R11-LANDING were issued to firm while it was suspended" in suspended[0].message


def test_a_duplicate_reference_in_the_event_stream_is_caught(world: World) -> None:
    from ledger.chain.logs import iter_logs

    world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-03-01"))
    _pay_c1(world, "P1", 0, 100, "2026-03-02")
    verifier = Verifier(documents=repository_policies(), namer=world.session.name_of)
    events = list(iter_logs(world.session, world.client.addresses, from_block=0))
    recorded = next(e for e in events if e.name == "SettlementRecorded")
    forced = LogEvent(recorded.name, recorded.contract, recorded.args, recorded.block + 1, "0xforged", 0)
    verifier.feed_all(iter([*events, forced]))
    report = verifier.finish(balances={})
    duplicate = [d for d in report.discrepancies if d.check == "unique-reference"]
    assert len(duplicate) == 1 and "reference P1 was recorded twice" in duplicate[0].message
    assert duplicate[0].tx_hash == "0xforged"


def test_a_start_up_revenue_attested_before_its_year_began_is_caught(world: World) -> None:
    """The ledger contract refuses it (`RevenueYearAhead`); the verifier, reading the log, holds a chain
    whose contract took one to the same rule."""
    from ledger.chain.logs import iter_logs

    world.client.attest_startup_revenue(
        world.operator, member=world.firm.address, year=2026, revenue=Fen(25_000_000), at=D("2026-05-01")
    )
    events = list(iter_logs(world.session, world.client.addresses, from_block=0))
    for year, caught in (
        (2026, []),
        (2027, ["start-up revenue 2027 of firm was attested on 2026-05-01, before that year began"]),
    ):
        history = [
            e._replace(args={**e.args, "year": year}) if e.name == "StartupRevenueAttested" else e for e in events
        ]
        verifier = Verifier(documents=repository_policies(), namer=world.session.name_of)
        verifier.feed_all(iter(history))
        found = [d for d in verifier.finish(balances={}).discrepancies if d.check == "attestation-dated"]
        assert [d.message for d in found] == caught
        assert all(d.member == world.firm.address for d in found)


def test_a_start_up_award_to_a_member_that_is_not_an_enterprise_is_caught(world: World) -> None:
    """The ledger contract refuses the attestation (`NotAnEnterprise`); the verifier holds a chain whose
    contract took one to the same rule, and finds its award unearned."""
    from ledger.chain.logs import iter_logs

    world.client.attest_startup_revenue(
        world.operator, member=world.firm.address, year=2026, revenue=Fen(25_000_000), at=D("2026-05-01")
    )
    events = list(iter_logs(world.session, world.client.addresses, from_block=0))
    unearned = ["attestation-eligible", "award-recomputed", "balance-recomputed"]
    for kind, caught in ((MemberKind.ENTERPRISE, []), (MemberKind.UNIVERSITY, unearned)):
        history = [
            e._replace(args={**e.args, "kind": kind.value})
            if e.name == "MemberEnrolled" and e.args["account"] == world.firm.address
            else e
            for e in events
        ]
        verifier = Verifier(documents=repository_policies(), namer=world.session.name_of)
        verifier.feed_all(iter(history))
        found = verifier.finish(balances={world.firm.address: 1_000_000}).discrepancies
        assert sorted(d.check for d in found) == caught
        assert all(d.member == world.firm.address for d in found)
    assert "start-up revenue 2026 of firm was attested, but firm is not an enrolled enterprise" in found[0].message


def test_a_talent_award_to_an_account_never_enrolled_is_caught(world: World) -> None:
    """The ledger contract refuses the attestation (`NotAMember`); a history whose appointee was never
    enrolled is a discrepancy, and its award unearned."""
    from ledger.chain.logs import iter_logs

    world.client.attest_appointment(
        world.operator, member=world.uni.address, title=AppointmentTitle.INDUSTRY_PROFESSOR, at=D("2026-05-01")
    )
    events = list(iter_logs(world.session, world.client.addresses, from_block=0))
    unenrolled = [e for e in events if not (e.name == "MemberEnrolled" and e.args["account"] == world.uni.address)]
    verifier = Verifier(documents=repository_policies(), namer=world.session.name_of)
    verifier.feed_all(iter(unenrolled))
    found = verifier.finish(balances={world.uni.address: 500_000}).discrepancies
    assert sorted(d.check for d in found) == ["attestation-eligible", "award-recomputed", "balance-recomputed"]
    assert found[0].message == "appointment of uni as industry_professor was attested, but no such member was enrolled"


def test_a_replay_whose_recording_the_history_lost_is_caught(world: World) -> None:
    """A node restored from a state file written out of step with its blocks (anvil's periodic dump can
    be) holds a settlement in its state whose block it lost: resent, the settlement comes back as a
    replay that no recorded event explains."""
    from ledger.chain.logs import iter_logs

    world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-03-01"))
    _pay_c1(world, "P1", 0, 100, "2026-03-02")
    _pay_c1(world, "P1", 0, 100, "2026-03-02")  # the same payment again: a harmless replay
    events = list(iter_logs(world.session, world.client.addresses, from_block=0))
    recording = next(e.tx_hash for e in events if e.name == "SettlementRecorded")
    replay = next(e for e in events if e.name == "SettlementReplayed")
    for history, lost in ((events, []), ([e for e in events if e.tx_hash != recording], ["P1"])):
        verifier = Verifier(documents=repository_policies(), namer=world.session.name_of)
        verifier.feed_all(iter(history))
        found = [d for d in verifier.finish(balances={}).discrepancies if d.check == "history-complete"]
        assert [d.tx_hash for d in found] == [replay.tx_hash for _ in lost]
        for d in found:
            assert d.message == (
                f"settlement P1 was answered as already recorded in block {replay.block}, but no block records it: "
                "the node's state holds it and its history has lost it"
            )


def test_points_issued_again_later_for_a_recorded_payment_are_caught(world: World) -> None:
    from ledger.chain.logs import iter_logs

    _complete_c1(world)
    events = list(iter_logs(world.session, world.client.addresses, from_block=0))
    issued = next(e for e in events if e.name == "PointsIssued")
    forced = LogEvent(issued.name, issued.contract, issued.args, issued.block + 1, "0xforged", 0)
    for details in (True, False):
        verifier = Verifier(documents=repository_policies(), namer=world.session.name_of, details=details)
        verifier.feed_all(iter([*events, forced]))
        report = verifier.finish(balances={})
        recomputed = [d for d in report.discrepancies if d.check == "award-recomputed"]
        assert len(recomputed) == 1, (details, report.discrepancies)
        assert recomputed[0].tx_hash == "0xforged"
        assert recomputed[0].rule == "R16-BROKER" and recomputed[0].member == issued.args["member"]
        assert "the policy gives 0.00" in recomputed[0].message


def test_verifying_without_details_finds_the_same_and_keeps_no_lists(world: World) -> None:
    _publish_r11_at_25_percent_under_the_files_name(world)
    _complete_c1(world)
    full = _verify(world)
    lean = _verify(world, details=False)
    assert [d.as_json() for d in lean.discrepancies] == [d.as_json() for d in full.discrepancies]
    assert any(d.check == "award-recomputed" for d in lean.discrepancies)
    assert lean.issuance_count == len(full.issued) == 3
    assert dict(lean.issued_by_member) == dict(full.issued_by_member)
    assert (lean.issued, lean.expected, lean.sources, lean.redemptions) == ([], [], {}, [])


def test_second_sync_reads_only_new_blocks_and_agrees_with_a_fresh_one(world: World, tmp_path: Path) -> None:
    world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-03-01"))
    _pay_c1(world, "P1", 0, 100_000_000, "2026-03-02")
    index = LogIndex(tmp_path / "index.sqlite")
    first = index.sync(world.session, world.client.addresses, from_block=0)
    assert first.from_block == 0 and first.logs > 0
    _pay_c1(world, "P2", 0, 50_000_000, "2026-03-03")
    world.client.attest_appointment(
        world.operator, member=world.uni.address, title=AppointmentTitle.INDUSTRY_PROFESSOR, at=D("2026-05-01")
    )
    ranges: list[tuple[int, int]] = []
    second = index.sync(
        world.session,
        world.client.addresses,
        from_block=0,
        on_range=lambda done, total, logs: ranges.append((done, total)),
    )
    assert second.from_block == first.to_block + 1
    assert second.requests == 1 and second.to_block == world.session.w3.eth.block_number
    assert second.logs < first.logs
    incremental = _verify(world, index)
    fresh = _verify(world, LogIndex(tmp_path / "fresh.sqlite"))
    assert incremental.ok and fresh.ok
    assert incremental.issued == fresh.issued and incremental.expected == fresh.expected
    index.close()


def test_events_streamed_through_the_index_are_the_chains_and_stay_indexed(world: World, tmp_path: Path) -> None:
    """`sync_events` hands on what is indexed, then each new range as it is written: the same events
    as reading the chain, and afterwards the index holds them all."""
    from ledger.chain.logs import iter_logs

    names = {address: name for name, address in world.client.addresses.items()}
    world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-03-01"))
    index = LogIndex(tmp_path / "index.sqlite")
    index.sync(world.session, world.client.addresses, from_block=0)
    _pay_c1(world, "P1", 0, 100_000_000, "2026-03-02")  # after the index's last block
    from_chain = list(iter_logs(world.session, world.client.addresses, from_block=0))
    streamed = list(index.sync_events(world.session, world.client.addresses, names, from_block=0))
    assert streamed == from_chain and any(e.name == "SettlementRecorded" for e in streamed)
    assert list(index.events(names)) == from_chain
    assert index.last_block == world.session.w3.eth.block_number
    index.close()


def test_index_notices_a_chain_that_changed_under_it(world: World, tmp_path: Path) -> None:
    index = LogIndex(tmp_path / "index.sqlite")
    index.sync(world.session, world.client.addresses, from_block=0)
    snapshot = world.session.snapshot()
    world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-03-01"))
    index.sync(world.session, world.client.addresses, from_block=0)
    world.session.revert(snapshot)
    world.client.attest_appointment(
        world.operator, member=world.uni.address, title=AppointmentTitle.INDUSTRY_PROFESSOR, at=D("2026-05-01")
    )
    stats = index.sync(world.session, world.client.addresses, from_block=0)
    assert stats.rebuilt
    names = [e.name for e in index.events({})]
    assert "MilestoneAchieved" not in names and "AppointmentAttested" in names


def test_a_start_up_award_on_a_statement_names_the_revenue_that_reached_its_threshold(world: World) -> None:
    world.client.attest_startup_revenue(
        world.operator, member=world.firm.address, year=2026, revenue=Fen(25_000_000), at=D("2026-05-01")
    )
    statement = build_statement(
        _verify(world), member="firm", address=world.firm.address, block_time=lambda b: D("2026-06-01")
    )
    (line,) = statement.lines
    assert (line.rule, line.points, line.reference) == ("R11-SME", 1_000_000, "start-up revenue 2026 of firm")
    assert line.basis == "fixed 10,000.00 points (revenue 250,000.00 yuan, threshold 200,000.00)"


def test_statement_traces_each_point_to_its_payment_and_clause(world: World) -> None:
    _complete_c1(world)
    world.session.advance_to(D("2027-02-01"))
    world.client.attest_appointment(
        world.operator, member=world.uni.address, title=AppointmentTitle.TECH_VICE_PRESIDENT, at=D("2027-02-01")
    )
    world.client.redeem(world.uni, points=Centipoints(10_000), purpose="instrument booking")
    report = _verify(world)
    statement = build_statement(  # the redemption's block at 13:02:05, Beijing
        report,
        member="uni",
        address=world.uni.address,
        block_time=lambda b: D("2027-03-01") + 46_925,
        policy=load_policy(),
    )
    first, second, third = statement.lines
    assert (first.date, first.contract, first.reference, first.rule, first.clause) == (
        "2026-04-02",
        "C1",
        "P2",
        "R11-LANDING",
        "clause 11",
    )
    assert first.basis == "20% of 2,500,000.00 yuan received (threshold 2,000,000.00 reached)"
    assert first.points == 50_000_000
    assert "科技成果" in first.rule_title
    assert second.rule == "R6-TALENT" and second.basis == "fixed 5,000.00 points" and second.balance == 50_500_000
    assert second.reference == "appointment of uni as tech_vice_president"
    assert third.what == "redeemed" and third.points == -10_000 and third.balance == 50_490_000
    assert third.date == "2027-03-01"  # the day of its block: every line is dated alike
    assert statement.verified and statement.by_rule == {"R11-LANDING": 50_000_000, "R6-TALENT": 500_000}
    only_2027 = build_statement(
        report,
        member="uni",
        address=world.uni.address,
        block_time=lambda b: D("2027-03-01"),
        policy=load_policy(),
        year=2027,
    )
    assert only_2027.opening == 50_000_000 and len(only_2027.lines) == 2
    broker = build_statement(report, member="agent", address=world.agent.address, block_time=lambda b: D("2027-03-01"))
    assert [line.basis for line in broker.lines] == [
        "0.50% of 1,500,000.00 yuan paid (received 0.00 -> 1,500,000.00)",
        "0.50% of 1,000,000.00 yuan paid (received 1,500,000.00 -> 2,500,000.00)",
    ]


def test_statement_is_in_date_order_and_each_year_adds_up(world: World) -> None:
    """P2 is recorded after the broker's redemption but dated before it: the statement lists it
    first, and a year's opening balance is everything dated before that year, never after."""
    for index in (0, 1):
        world.client.achieve_milestone(world.operator, contract="C1", index=index, at=D("2026-03-01"))
    _pay_c1(world, "P1", 0, 150_000_000, "2026-03-02")  # the broker earns 0.5%: 7,500.00 points
    world.client.redeem(world.agent, points=Centipoints(10_000), purpose="instrument booking")
    _pay_c1(world, "P2", 1, 100_000_000, "2026-04-02")  # 5,000.00 more
    report = _verify(world)

    def statement(year: int | None) -> Statement:
        return build_statement(
            report, member="agent", address=world.agent.address, block_time=lambda b: D("2027-03-01"), year=year
        )

    whole = statement(None)
    assert [(line.date, line.reference, line.balance) for line in whole.lines] == [
        ("2026-03-02", "P1", 750_000),
        ("2026-04-02", "P2", 1_250_000),
        ("2027-03-01", "instrument booking", 1_240_000),
    ]
    assert whole.closing == world.client.balance(world.agent.address) == 1_240_000
    years = {year: statement(year) for year in (2025, 2026, 2027, 2028)}
    assert [(s.opening, len(s.lines), s.closing) for s in years.values()] == [
        (0, 0, 0),
        (0, 2, 1_250_000),
        (1_250_000, 1, 1_240_000),
        (1_240_000, 0, 1_240_000),
    ]
    for one_year in years.values():
        assert one_year.closing == one_year.opening + sum(line.points for line in one_year.lines)


def test_market_report_sums_by_year_and_kind(world: World) -> None:
    _complete_c1(world)
    data = market_report(_verify(world))
    transfer = next(r for r in data["by_year_and_kind"] if r["kind"] == "transfer")
    assert transfer == {
        "year": 2026,
        "kind": "transfer",
        "contracts": 1,
        "registered_value": "2500000.00",
        "received": "2500000.00",
    }
    assert data["registered_value"] == "3500000.00"  # C1 and the licence L1
    assert data["points_by_rule"] == {"R11-LANDING": "500000.00", "R16-BROKER": "12500.00"}
    # 300亿元, 30 billion yuan; 3,500,000.00 of it is 0.0116...%, floored
    assert data["target_2028"] == {"registered_value": "30000000000.00", "progress_percent": "0.01"}


@pytest.mark.parametrize("rule", ["R15-USER"])
def test_amendment_with_a_forged_source_is_flagged(world: World, rule: str) -> None:
    params = replace(world.client.rule_history(rule)[-1], effective_from=D("2027-01-01"), rate_bps=5000)
    world.client.publish_rules(world.regulator, source_hash=b"\7" * 32, rules={rule: params})
    report = _verify(world)
    assert any(d.check == "policy-file" and "matches no policy file" in d.message for d in report.discrepancies)

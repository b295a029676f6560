"""Bulk import on eth-tester: every bad row listed before anything is sent; exactly once; batch sizing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.logs import iter_logs
from ledger.config import TX_GAS_CAP
from ledger.domain.dates import parse_date
from ledger.domain.money import Fen
from ledger.domain.types import ContractKind, MemberKind, PaymentPlan
from ledger.services.client import MilestoneInput
from ledger.services.import_check import (
    AWARD_GAS_BOUND,
    FIRST_PAYMENT_GAS_BOUND,
    LATER_PAYMENT_GAS_BOUND,
    MAX_BATCH,
    RULE_CHECK_GAS_BOUND,
    RULE_MEMO_GAS_BOUND,
    TX_OVERHEAD_BOUND,
    WARM_SLOT_SAVING,
    WORST_CASE_SETTLEMENT_GAS,
    BatchGas,
    CheckedRow,
    check_rows,
)
from ledger.services.importer import (
    Importer,
    ImportResult,
    Journal,
    encode_batch,
    import_against_history,
    import_file,
)
from ledger.services.market_state import MarketState
from ledger.services.payment_rows import ImportRefused, read_rows
from tests.chain.conftest import World, lump_transfer

D = parse_date
HEADER = "ref,contract,milestone,period,amount,date,evidence,kind\n"


def _lump(world: World, contract_id: str, amount: int = 300_000_000) -> None:
    milestones = (MilestoneInput("all", Fen(amount), D("2026-12-31")),)
    world.client.register_contract(world.operator, lump_transfer(world, id=contract_id, milestones=milestones))


def _import(
    world: World, path: Path, tmp_path: Path, state: Callable[[], MarketState] | None = None, **options: Any
) -> ImportResult:
    """An import of `path`, checking the rows against `state` (by default, the chain's history)."""
    journal_folder = tmp_path / "journal"
    if state is None:
        return import_against_history(
            world.client, path=path, operator=world.operator, journal_folder=journal_folder, from_block=0, **options
        )
    return import_file(
        world.session,
        path=path,
        state_loader=state,
        ledger_address=world.client.addresses["SettlementLedger"],
        operator=world.operator,
        journal_folder=journal_folder,
        **options,
    )


def test_every_bad_row_is_listed_with_its_line_and_nothing_is_sent(world: World, tmp_path: Path) -> None:
    _lump(world, "T1")
    evidence = "ab" * 32
    rows = [
        "OK-1,T1,,,100.00,2026-03-01,,",  # line 2: fine
        "BAD-AMOUNT,T1,,,12.345,2026-03-01,,",  # 3
        "BAD-NEG,T1,,,-1,2026-03-01,,",  # 4
        "BAD-TEXT,T1,,,abc,2026-03-01,,",  # 5
        "BAD-DATE,T1,,,1.00,2026-02-30,,",  # 6
        "BAD-CONTRACT,NOPE,,,1.00,2026-03-01,,",  # 7
        "BAD-MILESTONE,T1,3,,1.00,2026-03-01,,",  # 8
        "BAD-ZERO,T1,,,0.00,2026-03-01,,",  # 9
        "BAD-TOO-MUCH,T1,,,3000000.00,2026-03-01,,",  # 10 (100.00 already on line 2)
        "BAD-FUTURE,T1,,,1.00,2099-01-01,,",  # 11
        "BAD-EARLY,T1,,,1.00,2026-01-01,,",  # 12
        "OK-1,T1,,,100.00,2026-03-01,,",  # 13: duplicate inside the file
        "BAD-UNACHIEVED,C1,0,,1.00,2026-03-01,,",  # 14: staged milestone not achieved
        "BAD-PERIOD,L1,,2026-Q9,1.00,2026-03-01,,",  # 15: no revenue reported
        f"BAD-KIND,T1,,,1.00,2026-03-01,{evidence},gift",  # 16
        "BAD-EVIDENCE,T1,,,1.00,2026-03-01,xyz,",  # 17
        ",T1,,,1.00,2026-03-01,,",  # 18: no reference
        "BAD-WHICH,C1,,,1.00,2026-03-01,,",  # 19: two milestones, none named
        "BAD-HUGE,T1,,,1e30,2026-03-01,,",  # 20
    ]
    path = tmp_path / "bank.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    block = world.session.w3.eth.block_number
    with pytest.raises(ImportRefused) as caught:
        _import(world, path, tmp_path)
    lines = [p.line for p in caught.value.problems]
    assert lines == list(range(3, 21))
    assert world.session.w3.eth.block_number == block
    messages = {p.line: p.message for p in caught.value.problems}
    assert "more than two decimal places" in messages[3]
    assert messages[13] == "reference OK-1 already appears on line 2, with the same data: take one of the two lines out"
    assert "not been recorded as achieved" in messages[14]
    assert messages[15] == "no revenue is reported for period 2026-Q9 of contract L1" + (
        " (none is reported yet: `ledger royalty report` first)"
    )
    assert "there is no contract NOPE" in messages[7]
    assert "in the future" in messages[11]
    assert "before contract T1 was signed" in messages[12]


def test_import_records_once_and_a_second_run_changes_nothing(world: World, tmp_path: Path) -> None:
    for i in range(3):
        _lump(world, f"T{i}")
    rows = [f"BANK-{i:04d},T{i % 3},,,{300_000 + i}.00,2026-03-01,," for i in range(25)]
    path = tmp_path / "bank.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    first = _import(world, path, tmp_path, batch_size=10)
    assert (first.recorded, first.replayed, first.batches) == (25, 0, 3)
    # T0..T2 each cross 2,000,000 at some point: landing points for the university
    assert first.points_by_rule["R11-LANDING"] > 0
    block = world.session.w3.eth.block_number
    balance = world.client.balance(world.uni.address)
    again = _import(world, path, tmp_path, batch_size=10)
    assert (again.recorded, again.replayed, again.batches) == (0, 25, 0)
    assert world.session.w3.eth.block_number == block
    assert world.client.balance(world.uni.address) == balance


def test_a_row_the_history_did_not_show_but_the_ledger_held_is_counted_once_and_told(
    world: World, tmp_path: Path
) -> None:
    """A row sent because the history read before sending did not record it, answered by the ledger as
    already recorded (as after a node lost the block that recorded it): a replay, counted apart."""
    _lump(world, "T1")
    path = tmp_path / "bank.csv"
    path.write_text(HEADER + "BANK-1,T1,,,100.00,2026-03-01,,\nBANK-2,T1,,,200.00,2026-03-01,,\n", encoding="utf-8")
    _import(world, path, tmp_path)

    def history_without_it() -> MarketState:
        events = iter_logs(world.session, world.client.addresses, from_block=0)
        return MarketState.from_events(
            e for e in events if not (e.name == "SettlementRecorded" and e.args["ref"].startswith(b"BANK-1\0"))
        )

    again = _import(world, path, tmp_path, history_without_it)
    assert (again.recorded, again.replayed, again.replayed_on_arrival, again.batches) == (0, 2, 1, 1)
    assert world.client.milestone("T1", 0).paid == 30_000


def test_rows_on_a_suspended_party_contract_are_recorded_and_the_party_named(world: World, tmp_path: Path) -> None:
    _lump(world, "T1")
    _lump(world, "T2")
    world.client.suspend(world.regulator, world.uni.address)
    rows = ["S-1,T1,,,2500000.00,2026-03-01,,", "S-2,T1,,,1.00,2026-03-02,,", "S-3,T2,,,1.00,2026-03-02,,"]
    path = tmp_path / "bank.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    result = _import(world, path, tmp_path)
    assert result.recorded == 3 and result.points_by_rule == {}
    assert result.suspended_parties == {world.uni.address: 3}
    assert world.client.milestone("T1", 0).paid == 250_000_100
    world.client.reinstate(world.regulator, world.uni.address)
    path.write_text(HEADER + "S-4,T2,,,2500000.00,2026-03-03,,\n", encoding="utf-8")
    result = _import(world, path, tmp_path)
    assert result.suspended_parties == {} and result.points_by_rule["R11-LANDING"] > 0


def test_each_suspended_party_counts_each_row_once(world: World, tmp_path: Path) -> None:
    """The seller and the broker suspended (a party cannot be its own broker): each row withholds
    points from both, counted once for each."""
    milestones = (MilestoneInput("all", Fen(300_000_000), D("2026-12-31")),)
    contract = lump_transfer(world, id="T1", milestones=milestones, broker=world.agent.address)
    world.client.register_contract(world.operator, contract)
    world.client.suspend(world.regulator, world.uni.address)
    world.client.suspend(world.regulator, world.agent.address)
    path = tmp_path / "bank.csv"
    path.write_text(HEADER + "S-1,T1,,,1.00,2026-03-01,,\nS-2,T1,,,1.00,2026-03-02,,\n", encoding="utf-8")
    result = _import(world, path, tmp_path)
    assert result.suspended_parties == {world.uni.address: 2, world.agent.address: 2}


def test_skip_invalid_sends_good_rows_and_sets_bad_ones_aside(world: World, tmp_path: Path) -> None:
    _lump(world, "T1")
    path = tmp_path / "bank.json"
    path.write_text(
        '[{"ref": "A", "contract": "T1", "amount": "10.00", "date": "2026-03-01"},'
        ' {"ref": "B", "contract": "T9", "amount": "10.00", "date": "2026-03-01"},'
        ' {"ref": "C", "contract": "T1", "amount": 7, "date": "2026-03-02"}]',
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    result = _import(world, path, tmp_path, skip_invalid=True, reject_path=rejects)
    assert result.recorded == 2 and [p.line for p in result.rejected] == [2]
    assert "there is no contract T9" in rejects.read_text(encoding="utf-8")
    assert world.client.milestone("T1", 0).paid == 1_700


def test_the_costliest_settlement_stays_within_the_batch_bound(world: World, tmp_path: Path) -> None:
    """A licence paying four distinct first-time recipients, on a contract paid for the first time."""
    rows = []
    for i in range(4):
        uni, firm, agent = (world.session.new_account(f"{n}{i}") for n in ("uni", "firm", "agent"))
        for account, kind in ((uni, MemberKind.UNIVERSITY), (firm, MemberKind.ENTERPRISE), (agent, MemberKind.BROKER)):
            world.client.enrol(
                world.regulator, account=account.address, kind=kind, in_region=True, uscc="91110000802100433B"
            )
        licence = lump_transfer(
            world,
            id=f"W{i}",
            kind=ContractKind.LICENSE,
            plan=PaymentPlan.DEFERRED,
            seller=uni.address,
            buyer=firm.address,
            broker=agent.address,
            milestones=(MilestoneInput("deferred", Fen(300_000_000), D("2026-12-31")),),
        )
        world.client.register_contract(world.operator, licence)
        rows.append(f"W-{i},W{i},,,2500000.00,2026-03-01,{'cd' * 32},cash")
    path = tmp_path / "worst.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    to_send = _checked(world, path)
    assert [row.gas_bound for row in to_send] == [WORST_CASE_SETTLEMENT_GAS] * 4
    assert _estimate(world, to_send) <= TX_OVERHEAD_BOUND + sum(row.gas_bound for row in to_send)
    assert MAX_BATCH * WORST_CASE_SETTLEMENT_GAS + TX_OVERHEAD_BOUND <= TX_GAS_CAP


def _checked(world: World, path: Path) -> list[CheckedRow]:
    """The rows of `path` ready to send, with their gas bounds, as an import would plan them now."""
    parsed, problems = read_rows(path)
    assert not problems
    state = MarketState.from_events(iter_logs(world.session, world.client.addresses, from_block=0))
    checked = check_rows(parsed, state, now=world.session.now())
    assert not checked.problems
    return checked.to_send


def _estimate(world: World, rows: list[CheckedRow]) -> int:
    return world.session.estimate(
        world.operator.address, to=world.client.addresses["SettlementLedger"], data=encode_batch(rows)
    )


def _gas_used(world: World, rows: list[CheckedRow]) -> int:
    """The gas a batch of `rows` really uses (recorded, then undone). Unlike an estimate, which
    eth-tester rounds up by as much as 21,000, it tells what one more row adds."""
    snapshot = world.session.snapshot()
    try:
        data = encode_batch(rows)
        sent = world.session.send(world.operator, to=world.client.addresses["SettlementLedger"], data=data)
        return sent.gas_used
    finally:
        world.session.revert(snapshot)


def batch_gas_bound(rows: list[CheckedRow]) -> int:
    """The gas bound the import plans for one transaction recording `rows`, in this order."""
    bound = BatchGas()
    for row in rows:
        bound.add(row, bound.cost(row))
    return bound.total


def _assert_within_bounds(world: World, rows: list[CheckedRow]) -> None:
    """The batch fits its bound (rows sharing a batch share some costs: `BatchGas`); each row alone,
    with every once-per-transaction cost, fits its own bound plus the transaction's overhead."""
    assert _estimate(world, rows) <= batch_gas_bound(rows)
    for row in rows[:2]:
        assert _estimate(world, [row]) <= TX_OVERHEAD_BOUND + row.gas_bound


def test_what_rows_of_one_batch_share_is_paid_once_within_the_bound(world: World, tmp_path: Path) -> None:
    """Rows on one date after the first: on other contracts they find the landing rule's answer in the
    ledger's memo; on the milestone an earlier row paid they also find its slots warm and written. What
    each such row adds to the batch stays within what `BatchGas` counts for it."""
    for contract_id in ("S0", "S1", "S2"):
        _lump(world, contract_id, amount=500_000_000)
    path = tmp_path / "shared.csv"
    evidence = "ef" * 32
    contracts = ("S0", "S1", "S0", "S0", "S2")
    path.write_text(
        HEADER
        + "".join(f"SHARED-REFERENCE-{n:015d},{c},,,1.00,2026-03-01,{evidence},\n" for n, c in enumerate(contracts))
    )
    rows = _checked(world, path)
    bound = BatchGas()
    costs = []
    for row in rows:
        costs.append(bound.cost(row))
        bound.add(row, costs[-1])
    first, memo = FIRST_PAYMENT_GAS_BOUND + RULE_CHECK_GAS_BOUND, FIRST_PAYMENT_GAS_BOUND + RULE_MEMO_GAS_BOUND
    warm = LATER_PAYMENT_GAS_BOUND - WARM_SLOT_SAVING + RULE_MEMO_GAS_BOUND
    assert costs == [first, memo, warm, warm, memo]
    assert bound.total < TX_OVERHEAD_BOUND + sum(row.gas_bound for row in rows)
    journal = Journal(tmp_path / "journal")
    importer = Importer(
        world.session,
        ledger_address=world.client.addresses["SettlementLedger"],
        operator=world.operator,
        journal=journal,
        batch_gas=bound.total,
    )
    journal.close()  # planning writes nothing
    assert [len(batch) for batch, _bound in importer.plan(rows)] == [5]
    importer.batch_gas = bound.total - 1
    assert [(len(batch), bound) for batch, bound in importer.plan(rows)] == [
        (4, sum(costs[:4]) + TX_OVERHEAD_BOUND),
        (1, costs[0] + TX_OVERHEAD_BOUND),
    ]
    used = [_gas_used(world, rows[:k]) for k in range(1, len(rows) + 1)]
    added = [later - earlier for earlier, later in zip(used, used[1:], strict=False)]
    assert all(gas <= cost for gas, cost in zip(added, costs[1:], strict=True)), (added, costs)
    _assert_within_bounds(world, rows)


def test_a_payment_without_awards_stays_within_its_bound(world: World, tmp_path: Path) -> None:
    for i in range(3):
        development = lump_transfer(
            world,
            id=f"DEV{i}",
            kind=ContractKind.DEVELOPMENT,
            seller=world.firm.address,
            buyer=world.uni.address,
            milestones=(MilestoneInput("all", Fen(10**9), D("2026-12-31")),),
        )
        world.client.register_contract(world.operator, development)
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text(HEADER + "".join(f"D-{i},DEV{i},,,1.00,2026-03-01,{'ef' * 32},\n" for i in range(3)))
    later.write_text(HEADER + "".join(f"E-{i},DEV{i},,,1.00,2026-03-02,{'ef' * 32},\n" for i in range(3)))
    rows = _checked(world, first)
    assert [row.gas_bound for row in rows] == [FIRST_PAYMENT_GAS_BOUND] * 3
    _assert_within_bounds(world, rows)
    _import(world, first, tmp_path)
    rows = _checked(world, later)
    assert [row.gas_bound for row in rows] == [LATER_PAYMENT_GAS_BOUND] * 3
    _assert_within_bounds(world, rows)


def test_a_rule_below_its_threshold_costs_a_check_and_one_crossing_it_an_award(world: World, tmp_path: Path) -> None:
    """Later payments on distinct transfer contracts (university to in-region firm): the landing rule
    is evaluated on each; below the 2,000,000 yuan threshold it cannot award, at it it can."""
    for i in range(20):
        _lump(world, f"LB{i}", amount=500_000_000)
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text(HEADER + "".join(f"L-{i},LB{i},,,1.00,2026-03-01,,\n" for i in range(20)))
    _import(world, first, tmp_path)
    later.write_text(
        HEADER
        + "".join(f"M-{i},LB{i},,,1.00,2026-03-02,,\n" for i in range(20))
        + "M-20,LB0,,,1999997.99,2026-03-02,,\nM-21,LB1,,,1999998.00,2026-03-02,,\n"
    )
    rows = _checked(world, later)
    below = LATER_PAYMENT_GAS_BOUND + RULE_CHECK_GAS_BOUND
    # LB0 reaches 1,999,999.99 yuan in all (still below); LB1 exactly 2,000,000.00 (an award)
    assert [row.gas_bound for row in rows] == [below] * 21 + [LATER_PAYMENT_GAS_BOUND + AWARD_GAS_BOUND]
    _assert_within_bounds(world, rows[:20])
    _assert_within_bounds(world, rows[-1:])


def test_a_batch_asks_the_policy_once_per_rule_and_date_and_awards_by_the_version_of_each_date(
    world: World, tmp_path: Path
) -> None:
    """The ledger keeps the policy's answer for a rule and a date through a batch (and through the
    memory each settlement gives back): runs of three rows on one date, then three on the next, on
    either side of a new licensor rate, each earn by their own date's version, as the independent
    recomputation says."""
    from ledger.domain.policy import repository_policies
    from ledger.services.verify import verify_deployment

    current = world.client.rule_history("R3-LICENSOR")[-1]
    tripled = replace(current, rate_bps=300, effective_from=D("2026-03-02"))
    world.client.publish_rules(world.regulator, source_hash=b"\2" * 32, rules={"R3-LICENSOR": tripled})
    for i in range(3):
        licence = lump_transfer(
            world,
            id=f"K{i}",
            kind=ContractKind.LICENSE,
            plan=PaymentPlan.DEFERRED,
            broker=world.agent.address,
            milestones=(MilestoneInput("deferred", Fen(300_000_000), D("2026-12-31")),),
        )
        world.client.register_contract(world.operator, licence)
    dates = ("2026-03-01", "2026-03-02")
    path = tmp_path / "licences.csv"
    path.write_text(
        HEADER + "".join(f"K-{n},K{n % 3},,,700000.00,{dates[n // 3 % 2]},,\n" for n in range(12)), encoding="utf-8"
    )
    result = _import(world, path, tmp_path)
    assert result.recorded == 12 and result.batches == 1
    report = verify_deployment(world.client, from_block=0, documents=repository_policies())
    assert [d.check for d in report.discrepancies] == ["policy-file"]  # only the tripled rate's unknown file
    by_version = {(i.rule_id, i.policy_version) for i in report.issued}
    assert {("R3-LICENSOR", current.version), ("R3-LICENSOR", tripled.version)} <= by_version
    # 6 payments of 700,000 yuan at 1% and 6 at 3% for the licensor; the landing rule pays 20% of all
    # received once a contract reaches 2,000,000 yuan (each reaches 2,800,000)
    assert world.client.balance(world.uni.address) == 6 * 700_000_00 * (100 + 300) // 10_000 + 3 * 2_800_000_00 // 5


def test_a_rule_check_scanning_a_long_version_history_stays_within_its_bound(world: World, tmp_path: Path) -> None:
    """The contract looks for the version in force from the newest back: payments dated before four
    later versions of the landing rule make each check read five."""
    current = world.client.rule_history("R11-LANDING")[-1]
    for effective in ("2027-01-01", "2027-07-01", "2028-01-01", "2028-07-01"):
        later = replace(current, effective_from=D(effective))
        world.client.publish_rules(world.regulator, source_hash=b"\1" * 32, rules={"R11-LANDING": later})
    for i in range(20):
        _lump(world, f"LV{i}", amount=500_000_000)
    first, later_rows = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text(HEADER + "".join(f"V-{i},LV{i},,,1.00,2026-03-01,,\n" for i in range(20)))
    _import(world, first, tmp_path)
    later_rows.write_text(HEADER + "".join(f"W-{i},LV{i},,,1.00,2026-03-02,{'ab' * 32},\n" for i in range(20)))
    rows = _checked(world, later_rows)
    assert [row.gas_bound for row in rows] == [LATER_PAYMENT_GAS_BOUND + RULE_CHECK_GAS_BOUND] * 20
    _assert_within_bounds(world, rows)

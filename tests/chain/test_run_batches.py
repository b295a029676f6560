"""`ledger run` sends runs of consecutive settlements in batches: the outcome of every event (recorded,
replayed, refused with its own error) and every point must be what sending them one at a time gives."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.domain.scenario import parse_scenario
from ledger.services.client import LedgerClient
from ledger.services.runner import run_scenario

MEMBERS = [
    {"id": "imu", "name": "内蒙古大学", "kind": "university", "uscc": "121500004600012340", "in_region": True},
    {"id": "steel", "name": "包钢", "kind": "enterprise", "uscc": "91150200114123456M", "in_region": True},
    {"id": "agent", "name": "经纪", "kind": "broker", "uscc": "91150102MA0R54321E", "in_region": True},
]


def _transfer(contract_id: str, signed: str, plan: str, *amounts: str, broker: str | None = None) -> dict[str, Any]:
    return {
        "id": contract_id,
        "kind": "transfer",
        "seller": "imu",
        "buyer": "steel",
        "broker": broker,
        "signed": signed,
        "plan": plan,
        "milestones": [{"title": f"stage {i}", "amount": a, "due": "2026-12-31"} for i, a in enumerate(amounts)],
    }


def _pay(at: str, ref: str, contract: str, amount: str, milestone: int | None = None) -> dict[str, Any]:
    event = {"at": at, "type": "payment", "ref": ref, "contract": contract, "amount": amount}
    return event if milestone is None else {**event, "milestone": milestone}


SCENARIO = {
    "scenario": 1,
    "members": MEMBERS,
    "contracts": [
        _transfer("T1", "2026-02-01", "lump_sum", "3000000.00", broker="agent"),
        _transfer("T2", "2026-02-01", "staged", "1000000.00", "1000000.00"),
        _transfer("T3", "2026-05-01", "lump_sum", "2500000.00"),
        _transfer("T4", "2026-03-08", "lump_sum", "100000.00"),  # signed while imu is suspended
        {**_transfer("T5", "2026-03-08", "lump_sum", "100000.00"), "seller": "steel", "buyer": "agent"},
    ],
    "events": [
        _pay("2026-03-01", "B1", "T1", "1000000.00"),  # 0
        _pay("2026-03-01", "B2", "T1", "1500000.00"),  # 1: crosses the landing threshold
        _pay("2026-03-01", "B1", "T1", "1000000.00"),  # 2: replay (the same date: the same data)
        _pay("2026-03-02", "B3", "T2", "500000.00", 0),  # 3: milestone not achieved
        _pay("2026-03-03", "B4", "T1", "600000.00"),  # 4: more than is still due
        _pay("2026-03-03", "B2", "T1", "1.00"),  # 5: the reference of 1 with other data
        _pay("2026-03-04", "B5", "T1", "500000.00"),  # 6
        {"at": "2026-03-05", "type": "milestone_achieved", "contract": "T2", "milestone": 0},
        _pay("2026-03-06", "B6", "T2", "1000000.00", 0),  # 8
        {"at": "2026-03-07", "type": "suspend", "member": "imu"},
        {"at": "2026-03-08", "type": "milestone_achieved", "contract": "T2", "milestone": 1},
        _pay("2026-03-09", "B7", "T2", "1000000.00", 1),  # 11: recorded, the suspended seller earns nothing
        {"at": "2026-03-10", "type": "reinstate", "member": "imu"},
        _pay("2026-04-20", "B8", "T3", "1000000.00"),  # 13: T3 is not signed yet
        _pay("2026-04-21", "B9", "T1", "0.01"),  # 14: refused, the contract is paid in full
        _pay("2026-05-02", "B10", "T3", "2500000.00"),  # 15: T3 registered within the run of payments
        _pay("2026-05-02", "B10", "T3", "2500000.00"),  # 16: replay in the same batch
        _pay("2026-05-03", "B11", "T2", "1.00", 1),  # 17: milestone paid in full
        _pay("2026-05-03", "B12", "T4", "100000.00"),  # 18: T4's registration was refused
        _pay("2026-05-03", "B13", "T5", "100000.00"),  # 19
    ],
}


def test_settlements_in_batches_come_out_as_sent_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Contracts signed by the same event go to the registry together too, and a group it refuses (T4
    has a suspended party) is registered one contract at a time."""
    batches: list[int] = []
    groups: list[list[str]] = []
    settle_batch, register_contracts = LedgerClient.settle_batch, LedgerClient.register_contracts

    def counted(client: LedgerClient, signer: Any, settlements: list[Any], **kwargs: Any) -> Any:
        batches.append(len(settlements))
        return settle_batch(client, signer, settlements, **kwargs)

    def grouped(client: LedgerClient, signer: Any, contracts: list[Any]) -> Any:
        groups.append([c.id for c in contracts])
        return register_contracts(client, signer, contracts)

    monkeypatch.setattr(LedgerClient, "settle_batch", counted)
    monkeypatch.setattr(LedgerClient, "register_contracts", grouped)
    batched = run_scenario(parse_scenario(SCENARIO))
    assert batches and max(batches) >= 5  # events 0 to 4 went together first (refused, then played in halves)
    assert groups == [["T1", "T2"], ["T4", "T5"]]  # the second refused whole; T3 is registered alone

    batches.clear()
    groups.clear()
    alone = run_scenario(parse_scenario(SCENARIO), batches=False)
    assert batches == [] and groups == []
    assert batched.outcome() == alone.outcome()
    assert [r.differences for r in batched.rejected] == [r.differences for r in alone.rejected]

    assert [(r.event, r.error) for r in batched.rejected] == [
        (3, "MilestoneNotAchieved"),
        (4, "AmountExceedsDue"),
        (5, "DuplicatePayment"),
        (13, "PaymentBeforeSigning"),
        (14, "AmountExceedsDue"),
        (17, "AmountExceedsDue"),
        (18, "UnknownContract"),
    ]
    assert batched.rejected[-1].message == (
        "there is no contract T4: its registration was refused (PartySuspended: imu is suspended and cannot be "
        "a party to a new contract)"
    )
    assert [u.contract for u in batched.unregistered] == ["T4"]
    assert batched.rejected[2].differences == (  # event 5
        "amount 1.00 yuan here, 1,500,000.00 yuan recorded",
        "date 2026-03-03 here, 2026-03-01 recorded",
    )
    assert batched.replayed == [2, 16]
    assert batched.as_json()["members"]["imu"]["by_rule"] == {"R11-LANDING": "1100000.00"}  # T1 and T3, not T2
    assert batched.verification.ok, batched.verification.discrepancies

"""The contracts of a `ledger run` result, as the registry holds them: what is received, what is
outstanding (milestones not fully paid, and royalties reported and not paid) and each milestone's status."""

from __future__ import annotations

from ledger.domain.scenario import parse_scenario
from ledger.services.runner import EXIT_REJECTED, run_scenario

SCENARIO = {
    "scenario": 1,
    "members": [
        {"id": "imu", "name": "内蒙古大学", "kind": "university", "uscc": "121500004600012340", "in_region": True},
        {"id": "steel", "name": "包钢", "kind": "enterprise", "uscc": "91150200114123456M", "in_region": True},
    ],
    "contracts": [
        {
            "id": "TC-L",
            "kind": "license",
            "seller": "imu",
            "buyer": "steel",
            "signed": "2026-02-01",
            "value": "1000000.00",
            "plan": "zero_upfront_staged_royalty",
            "royalty_bps": 300,
            "milestones": [
                {"title": "pilot line", "amount": "600000.00", "due": "2026-06-30"},
                {"title": "mass production", "amount": "400000.00", "due": "2026-09-30"},
            ],
        },
        {
            "id": "TC-T",
            "kind": "transfer",
            "seller": "imu",
            "buyer": "steel",
            "signed": "2026-02-01",
            "value": "500000.00",
            "plan": "lump_sum",
            "milestones": [{"title": "patent", "amount": "500000.00", "due": "2026-12-31"}],
        },
    ],
    "events": [
        {"at": "2026-05-01", "type": "milestone_achieved", "contract": "TC-L", "milestone": 0},
        {"at": "2026-05-02", "type": "payment", "ref": "P1", "contract": "TC-L", "milestone": 0, "amount": "250000.00"},
        {"at": "2026-07-05", "type": "revenue_report", "contract": "TC-L", "period": "2026-Q2",
         "revenue": "1000000.00"},
        {"at": "2026-07-10", "type": "royalty_payment", "ref": "R1", "contract": "TC-L", "period": "2026-Q2",
         "amount": "10000.00"},
        {"at": "2026-10-05", "type": "revenue_report", "contract": "TC-L", "period": "2026-Q3", "revenue": "200000.00"},
        # the same period reported again with other revenue: refused, and its royalty counted once
        {"at": "2026-10-06", "type": "revenue_report", "contract": "TC-L", "period": "2026-Q3", "revenue": "300000.00"},
        {"at": "2026-10-07", "type": "payment", "ref": "P2", "contract": "TC-T", "amount": "100000.00"},
    ],
}  # fmt: skip


def test_outstanding_counts_unpaid_milestones_and_reported_royalties_and_statuses_follow_payment() -> None:
    result = run_scenario(parse_scenario(SCENARIO))
    assert result.exit_code == EXIT_REJECTED
    assert [(r.event, r.error) for r in result.rejected] == [(5, "RoyaltyPeriodAlreadyReported")]
    assert result.outcome()["contracts"] == {
        "TC-L": {
            "received": "260000.00",  # 250,000.00 on the pilot line and 10,000.00 of the 2026-Q2 royalty
            # 350,000.00 + 400,000.00 of the milestones, 20,000.00 of 2026-Q2's 30,000.00, all 6,000.00 of 2026-Q3's
            "outstanding": "776000.00",
            "milestones": [
                {"status": "achieved", "paid": "250000.00", "due": "600000.00"},  # partly paid
                {"status": "pending", "paid": "0.00", "due": "400000.00"},
            ],
        },
        "TC-T": {
            "received": "100000.00",
            "outstanding": "400000.00",
            # a lump sum is paid without being achieved: partly paid, still pending
            "milestones": [{"status": "pending", "paid": "100000.00", "due": "500000.00"}],
        },
    }
    assert {m: v["by_rule"] for m, v in result.outcome()["members"].items()} == {
        "imu": {"R3-LICENSOR": "2600.00"},  # 1% of the 260,000.00 received; far below R11's threshold
        "steel": {"R3-LICENSEE": "2600.00"},
    }
    assert result.verification.ok
    assert all(member["address"].startswith("0x") for member in result.as_json()["members"].values())  # kept

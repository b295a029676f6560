"""Static analysis gate: Slither finds nothing of medium impact or above, every lower finding is
triaged with a reason, and every state-changing external function checks its caller.

Slither runs in its own virtual environment (`.venv-slither`, made by `make test`): it needs an
older web3 than the ledger.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import ROOT, run_script

SLITHER_PYTHON = ROOT / ".venv-slither" / "bin" / "python"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    assert SLITHER_PYTHON.exists(), "Slither's virtual environment is missing: run `make test` (or `make slither`)"
    done = run_script("slither-check", "--json", python=SLITHER_PYTHON)
    assert done.stdout.strip(), f"slither-check printed no report:\n{done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_no_finding_of_medium_impact_or_above(report: dict[str, Any]) -> None:
    assert report["blocking"] == []


def test_every_lower_finding_is_triaged_with_a_reason(report: dict[str, Any]) -> None:
    assert report["untriaged"] == []
    assert all(finding["reason"] and len(finding["reason"]) > 40 for finding in report["findings"])


def test_the_triage_has_no_stale_entry(report: dict[str, Any]) -> None:
    assert report["stale_triage"] == []


def test_every_state_changing_external_function_checks_its_caller(report: dict[str, Any]) -> None:
    functions = {f"{row['contract']}.{row['function'].split('(')[0]}": row for row in report["functions"]}
    assert [name for name, row in functions.items() if not row["guarded"]] == []
    # The analysis saw the writes that matter, with the guard each one must have.
    expected = {
        "Membership.enrol": "_checkRole",
        "Membership.suspend": "_checkRole",
        "Membership.appointOperator": "_checkRole",
        "ContractRegistry.registerContract": "isOperator(msg.sender)",
        "ContractRegistry.registerContracts": "isOperator(msg.sender)",
        "ContractRegistry.applyPayment": "msg.sender != _ledger",
        "PolicyRegistry.publish": "isRegulator(msg.sender)",
        "SettlementLedger.record": "isOperator(msg.sender)",
        "SettlementLedger.recordBatch": "isOperator(msg.sender)",
        "SettlementLedger.attestStartupRevenue": "isOperator(msg.sender)",
        "Points.issue": "msg.sender != _issuer",
        "Points.redeem": "isActive(msg.sender)",
    }
    for name, guard in expected.items():
        assert name in functions, f"{name} is missing from the analysis"
        assert any(guard in check for check in functions[name]["caller_checks"]), (name, functions[name])
    # Transfers and approvals are pure refusals, so they write nothing and need no guard.
    assert "Points.transfer" not in functions

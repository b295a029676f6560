"""The README's gas table is what the benchmark measures now, and the floor it compares with is one.

Gas on the embedded chain does not vary from run to run (the same contracts, the same payments), so
the table the README shows must be what `scripts/bench --only gas` prints today: a contract change
that moves the gas fails here until the README says so. No case may cost less than the floor the
script computes for the storage layout: that would mean the floor's arithmetic is wrong. (Times are
never asserted: they are figures, printed by the script.) The whole script also runs once, in its
quick form, so that the command the README gives for its figures keeps working.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.nodes import needs_anvil
from tests.support import ROOT, run_script

#: A row of the README's gas table: | single (`record`) | 78,808 | 73,704 | 1.069 |
_README_ROW = re.compile(r"^\| (single \(`record`\)|batch of \d+) \| ([\d,]+) \| ([\d,]+) \| ([\d.]+) \|$")


@pytest.fixture(scope="module")
def measured() -> list[dict[str, Any]]:
    done = run_script("bench", "--only", "gas", "--json", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows: list[dict[str, Any]] = json.loads(done.stdout)["gas"]["rows"]
    return rows


def _readme_rows() -> dict[str, tuple[int, int, str]]:
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = _README_ROW.match(line)
        if match:
            case, gas, floor, ratio = match.groups()
            rows[case.replace("`", "")] = (int(gas.replace(",", "")), int(floor.replace(",", "")), ratio)
    return rows


def test_every_case_costs_at_least_the_floor_of_the_layout(measured: list[dict[str, Any]]) -> None:
    assert [row["case"] for row in measured] == [
        "single (record)",
        "batch of 1",
        "batch of 10",
        "batch of 100",
        "batch of 200",
    ]
    for row in measured:
        assert row["floor_per_settlement"] <= row["gas_per_settlement"], row


def test_the_readme_shows_the_gas_measured_now(measured: list[dict[str, Any]]) -> None:
    shown = _readme_rows()
    now = {
        row["case"]: (row["gas_per_settlement"], row["floor_per_settlement"], f"{row['ratio']:.3f}") for row in measured
    }
    assert shown == now, "the README's gas table is stale: paste the figures of `scripts/bench --only gas`"


@needs_anvil
def test_the_whole_benchmark_runs_and_verifies_what_it_imported() -> None:
    """`scripts/bench --quick`: every section runs to its end on the embedded chain and on anvil, and
    each verification it times finds the imported history correct (the figures are not judged here)."""
    done = run_script("bench", "--quick", "--repeat", "1", "--json", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert set(report["throughput"]) == {"eth-tester", "anvil automine", "anvil block-time 1s"}
    for chain, figures in report["throughput"].items():
        assert figures["rows"] > 0 and figures["import_per_s"] > 0, chain
    assert 0 < report["throughput"]["anvil block-time 1s"]["fraction_of_ceiling"]
    registration = report["registration"]
    assert registration["contracts"] == 20 and registration["groups"] == 1 and registration["ratio"] > 0
    scenario = report["scenario"]
    runs = [scenario[chain][mode] for chain in ("eth-tester", "anvil") for mode in ("batched", "one_per_event")]
    assert all(run["verified"] for run in runs) and runs[0]["rejected"] > 0 and runs[0]["replayed"] > 0
    assert len({run["outcome_sha256"] for run in runs}) == 1  # batched or not, on either chain: one result
    (verified,) = report["verify"].values()
    assert verified["fast"]["ok"] and verified["web3"]["ok"]
    assert verified["fast"]["logs"] == verified["web3"]["logs"] > 1_000

"""The README's commands, as `docs/walkthrough.sh` runs them in order with the example files of
`docs/examples/`, work on a fresh workspace and a node of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import HOMES, OUTPUTS, PASSPHRASE, ROOT
from tests.nodes import free_port, needs_anvil

pytestmark = needs_anvil


def test_the_walkthrough_runs_from_a_fresh_workspace_to_sealed_terms(tmp_path: Path) -> None:
    work = tmp_path / "walk"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # this environment's `ledger`
        "LEDGER_PASSPHRASE": PASSPHRASE,
    }
    script = ROOT / "docs" / "walkthrough.sh"
    walked = subprocess.run(
        ["bash", str(script), str(work), str(free_port())], capture_output=True, text=True, env=env, timeout=600
    )
    OUTPUTS.append(walked.stdout + walked.stderr)
    HOMES.add(work / ".ledger")
    assert walked.returncode == 0, walked.stdout[-3000:] + walked.stderr
    assert "Traceback" not in walked.stderr and "error:" not in walked.stderr, walked.stderr
    out = walked.stdout
    assert "payment BANK-0002 was already recorded with the same data: nothing changed" in out
    assert "3 rows: 0 recorded, 3 already on chain (replays), 0 rejected" in out  # the file imported again
    assert "imu holds 505,300.00 points" in out  # R11 on 2,500,000.00, R3 on 130,000.00, R15 on 80,000.00
    assert "11 issuances recomputed independently from the settlements and the policy files; all match" in out
    # the three contracts' 2,680,000.00 of 300亿元 floors to 0.00 percent; a person is told it is more than nothing
    target = "30,000,000,000.00 yuan of registered contract value; registered so far 2,680,000.00 (under 0.01%)"
    assert f"2028 target: {target}\n" in out
    assert "it matches the contract's terms hash on chain" in out
    assert (work / "opened-terms.txt").read_bytes() == (ROOT / "docs" / "examples" / "tc-1-terms.txt").read_bytes()
    assert '$ ledger redeem imu 100.00 --purpose "instrument booking"' in out

"""The committed artifacts match the sources, and running needs no Node or compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.chain.artifacts import DEPLOYED_CONTRACTS, MAX_CODE_SIZE, load_document
from ledger.chain.compile import sources_hash
from tests.support import ROOT, run_script


def test_artifacts_record_the_current_sources() -> None:
    assert load_document()["sources_hash"] == sources_hash(), "run scripts/compile and commit the artifacts"


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "solc").exists(),
    reason="recompiling needs Node and `npm ci` (both installed by `make test`)",
)
def test_recompiling_gives_the_committed_bytecode() -> None:
    result = run_script("compile", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "artifacts are fresh" in result.stdout


def test_every_deployed_contract_fits_eip170() -> None:
    for name in DEPLOYED_CONTRACTS:
        assert load_document()["contracts"][name]["deployed_size"] <= MAX_CODE_SIZE, name


def test_deploying_needs_no_node_on_path(tmp_path: Path) -> None:
    code = (
        "from ledger.chain.session import ChainSession\n"
        "from ledger.chain.deploy import deploy_all\n"
        "s = ChainSession.embedded()\n"
        "record, _ = deploy_all(s, s.new_account('regulator'))\n"
        "print(len(record.addresses))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "NODE_PATH")}
    env["PATH"] = str(tmp_path)  # an empty folder: no node, no solc
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(DEPLOYED_CONTRACTS))

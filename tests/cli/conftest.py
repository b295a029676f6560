from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "ledger" / "data" / "demo-scenario.json"
#: What every `ledger` process of the CLI tests printed, and the workspaces they used: the secrets
#: test (test_zz_secrets.py, last) checks that no private key or passphrase ever appeared.
OUTPUTS: list[str] = []
HOMES: set[Path] = set()

Run = Callable[..., subprocess.CompletedProcess[str]]


PASSPHRASE = "correct horse battery"


def make_runner(folder: Path) -> Run:
    """A function that runs `ledger ARGS...` as a user would, with its workspace in `folder`."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full_env = {
            **os.environ,
            "LEDGER_HOME": str(folder / "home"),
            "LEDGER_PASSPHRASE": PASSPHRASE,
            "LEDGER_DATA": str(folder / "data"),
        }
        full_env.update(env or {})
        result = subprocess.run(
            [sys.executable, "-m", "ledger.cli", *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=folder,
            timeout=timeout,
        )
        OUTPUTS.append(result.stdout + result.stderr)
        HOMES.add(folder / "home")
        assert "Traceback" not in result.stderr, result.stderr
        return result

    return run


@pytest.fixture
def ledger(tmp_path: Path) -> Run:
    """Run `ledger ARGS...` in a fresh workspace."""
    return make_runner(tmp_path)

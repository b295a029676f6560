from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "ledger" / "data" / "demo-scenario.json"
#: What every `ledger` process of the CLI tests printed, and the workspaces they used: the secrets
#: test (test_zz_secrets.py, last) checks that no private key or passphrase ever appeared.
OUTPUTS: list[str] = []
HOMES: set[Path] = set()

Run = Callable[..., subprocess.CompletedProcess[str]]


PASSPHRASE = "correct horse battery"


def workspace_env(folder: Path) -> dict[str, str]:
    """The environment of a `ledger` process whose workspace is in `folder`."""
    return {
        **os.environ,
        "LEDGER_HOME": str(folder / "home"),
        "LEDGER_PASSPHRASE": PASSPHRASE,
        "LEDGER_DATA": str(folder / "data"),
    }


def make_runner(folder: Path) -> Run:
    """A function that runs `ledger ARGS...` as a user would, with its workspace in `folder` (as `python -m
    ledger`, the same command, run by this interpreter whatever the PATH holds)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full_env = workspace_env(folder)
        full_env.update(env or {})
        result = subprocess.run(
            [sys.executable, "-m", "ledger", *args],
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


#: `ledger` arguments that create the platform CA and certify the two members most tests trade
#: between (enrolment needs a certificate), then enrol each.
CERTIFY = (
    ("ca", "init"),
    ("ca", "issue", "imu", "--uscc", "121500004600012340", "--display-name", "内蒙古大学"),
    ("ca", "issue", "steel", "--uscc", "91150200114123456M", "--display-name", "包头钢铁"),
)
ENROL_IMU = ("member", "enrol", "imu", "--kind", "university", "--uscc", "121500004600012340", "--in-region")
ENROL_STEEL = ("member", "enrol", "steel", "--kind", "enterprise", "--uscc", "91150200114123456M")


@contextmanager
def market_on_node(folder: Path, *setup: tuple[str, ...]) -> Iterator[tuple[Run, str]]:
    """A local node started by `ledger node start`, the contracts deployed, an operator appointed and
    the `setup` commands run; yields the runner and the node's port, and stops the node after."""
    ledger = make_runner(folder)
    port = str(free_port())
    started = ledger("node", "start", "--port", port)
    assert started.returncode == 0, started.stderr
    try:
        for args in (("deploy",), ("operator", "add", "operator"), *setup):
            result = ledger(*args)
            assert result.returncode == 0, (args, result.stderr)
        yield ledger, port
    finally:
        ledger("node", "stop", "--port", port)


@pytest.fixture
def ledger(tmp_path: Path) -> Run:
    """Run `ledger ARGS...` in a fresh workspace."""
    return make_runner(tmp_path)

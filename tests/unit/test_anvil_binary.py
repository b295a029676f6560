"""Which anvil `ledger node start` runs: $LEDGER_ANVIL, else the project's node_modules (beside the
package, or in the folder the command runs in), else one on the PATH; without any, a sentence that
says how to get one. And which process is the workspace's node: not a program already on its port,
not whatever process a stale pid file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import node
from ledger.errors import ConfigError


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No anvil in the project, the working folder or on the PATH."""
    monkeypatch.delenv("LEDGER_ANVIL", raising=False)
    monkeypatch.setattr(node, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    return tmp_path


def _binary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_without_any_anvil_the_refusal_says_how_to_get_one(nowhere: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        node.anvil_binary()
    assert str(refused.value) == (
        "anvil is not installed: run `npm ci` in the project (it brings @foundry-rs/anvil-linux-amd64), "
        "or set LEDGER_ANVIL to an anvil binary"
    )


def test_the_project_comes_before_the_working_folder_and_the_path(nowhere: Path) -> None:
    on_path = _binary(nowhere / "bin" / "anvil")
    assert node.anvil_binary() == on_path
    here = _binary(nowhere / node.ANVIL_RELATIVE)
    assert node.anvil_binary() == here
    project = _binary(nowhere / "project" / node.ANVIL_RELATIVE)
    assert node.anvil_binary() == project


def test_ledger_anvil_comes_first_and_must_name_a_file(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _binary(nowhere / "project" / node.ANVIL_RELATIVE)
    chosen = _binary(nowhere / "elsewhere" / "anvil")
    monkeypatch.setenv("LEDGER_ANVIL", str(chosen))
    assert node.anvil_binary() == chosen
    monkeypatch.setenv("LEDGER_ANVIL", str(nowhere / "missing"))
    with pytest.raises(ConfigError, match="LEDGER_ANVIL names .*missing, which is no file"):
        node.anvil_binary()


def test_a_port_another_program_listens_on_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """A new anvil fails on a taken port only after a moment, during which the program on the port
    (another workspace's node) would answer as this workspace's node."""
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        local = node.LocalNode(tmp_path / "node", port=port)
        with pytest.raises(ConfigError) as refused:
            local.start()
    assert str(refused.value) == (
        f"port {port} is in use by another program (another workspace's node?): stop it, or start this node on "
        "another port (`ledger node start --port N`)"
    )
    assert not local.pid_file.exists()
    assert node.port_taken(port) is False  # free again once the other program closed it


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="the node's command line is read from /proc (Linux)")
def test_a_pid_file_whose_process_is_no_node_is_not_taken_for_one(tmp_path: Path) -> None:
    """After a reboot the number in the pid file may belong to any process: `node stop` must not
    signal it. This test's own process stands in for it."""
    import json
    import os

    local = node.LocalNode(tmp_path / "node", port=18545)
    local.dir.mkdir(parents=True)
    local.pid_file.write_text(json.dumps({"pid": os.getpid(), "port": 18545}))
    assert local.status().running is False
    assert local.stop() is False  # and this process was not sent SIGTERM


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="the node's command line is read from /proc (Linux)")
def test_a_process_with_the_nodes_arguments_is_its_node(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys
    import time

    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "--port", "18546", "--chain-id", str(node.CHAIN_ID)]
    )
    try:
        cmdline = Path(f"/proc/{stand_in.pid}/cmdline")
        deadline = time.monotonic() + 10
        while b"--chain-id" not in cmdline.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the stand-in has exec'd (a forked child shows its parent's command line)
        local = node.LocalNode(tmp_path / "node", port=18546)
        local.dir.mkdir(parents=True)
        local.pid_file.write_text(json.dumps({"pid": stand_in.pid, "port": 18546}))
        assert local.status().pid == stand_in.pid
        assert local.stop() is True
        with pytest.raises(ProcessLookupError):  # stopped, and collected by `stop`
            os.kill(stand_in.pid, 0)
    finally:
        stand_in.kill()
        stand_in.wait(timeout=15)


@pytest.mark.parametrize(
    ("writes", "said"),
    [
        (
            "error: invalid value '.ledger/node/state.json' for '--state <PATH>': failed to parse json file: "
            '".ledger/node/state.json": EOF while parsing a value at line 2 column 0',
            "the node's state file {state} is damaged (EOF while parsing a value at line 2 column 0): restore it "
            "from a copy, or move it aside to start an empty chain, on which the contracts are deployed anew "
            "(`ledger deploy --force`)",
        ),
        (
            "error: something else went wrong",
            "anvil stopped as it started: something else went wrong (all it wrote: {log})",
        ),
    ],
)
def test_a_node_that_stops_as_it_starts_says_why_from_what_it_wrote_this_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writes: str, said: str
) -> None:
    """What anvil wrote when it stopped, read from its log after what earlier starts wrote there."""
    from tests.nodes import free_port

    fake = _binary(tmp_path / "bin" / "anvil")
    fake.write_text(f"#!/bin/sh\ncat >&2 <<'END'\n{writes}\nEND\nexit 2\n", encoding="utf-8")
    monkeypatch.setenv("LEDGER_ANVIL", str(fake))
    local = node.LocalNode(tmp_path / "node", port=free_port())
    local.dir.mkdir(parents=True)
    local.log_file.write_text("error: port in use, from a start long ago\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        local.start()
    assert str(refused.value) == said.format(state=local.state_file, log=local.log_file)

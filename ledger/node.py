"""A local development node: anvil from node_modules, on loopback, its state kept on disk."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ANVIL_RELATIVE = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
CHAIN_ID = 31337
START_TIMEOUT_S = 20.0
#: Past states the local node keeps (in memory): the ledger reads none older than a few blocks.
KEPT_STATES = 64


def port_taken(port: int) -> bool:
    """Whether a program listens on `port` of the loopback (a port anvil could then not bind)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as anvil binds: a closing port is free
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _runs_anvil(pid: int, port: int) -> bool:
    """Whether process `pid` is the node `start` ran on `port`, as its command line says (the arguments
    `start` gives, whatever the binary is called: $LEDGER_ANVIL may name a wrapper). Read from /proc;
    where there is none, the process is taken to be the node its pid file names."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc at all: nothing to check against
    except OSError:
        return False
    pairs = set(zip(words, words[1:], strict=False))
    return (b"--port", str(port).encode()) in pairs and (b"--chain-id", str(CHAIN_ID).encode()) in pairs


@dataclass(frozen=True)
class NodeStatus:
    running: bool
    url: str | None
    pid: int | None
    block: int | None
    state_file: Path


def anvil_binary() -> Path:
    """The anvil to run: $LEDGER_ANVIL, else the project's node_modules (beside the package, or in the
    folder the command runs in), else an `anvil` on the PATH."""
    override = os.environ.get("LEDGER_ANVIL")
    if override:
        if not Path(override).is_file():
            raise ConfigError(f"LEDGER_ANVIL names {override}, which is no file")
        return Path(override)
    on_path = shutil.which("anvil")
    candidates = [PROJECT_ROOT / ANVIL_RELATIVE, Path.cwd() / ANVIL_RELATIVE, *([Path(on_path)] if on_path else [])]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "anvil is not installed: run `npm ci` in the project (it brings @foundry-rs/anvil-linux-amd64), "
        "or set LEDGER_ANVIL to an anvil binary"
    )


def _rpc(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    # the URL is always http://127.0.0.1:PORT, built here
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())["result"]


class LocalNode:
    """An anvil node on loopback `port`, its process and log in `node_dir` and, when `persist`, its state
    kept there across restarts."""

    def __init__(self, node_dir: Path, *, port: int, extra_args: tuple[str, ...] = (), persist: bool = True) -> None:
        self.dir = node_dir
        self.port = port
        self.extra_args = extra_args
        self.persist = persist
        self._process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"
        self.state_file = node_dir / "state.json"
        self.pid_file = node_dir / "anvil.pid"
        self.log_file = node_dir / "anvil.log"

    def _pid(self) -> int | None:
        self._reap()
        if self._process is not None:
            return self._process.pid
        try:
            data = json.loads(self.pid_file.read_text())
            pid, port = int(data["pid"]), int(data["port"])
        except (OSError, ValueError, KeyError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        if not _runs_anvil(pid, port):  # the node ended (a reboot, say) and its number went to another process
            return None
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        return pid

    def running_url(self) -> str | None:
        """The node's URL while its process runs, found without sending it a request."""
        return self.url if self._pid() is not None else None

    def status(self) -> NodeStatus:
        """Whether the node runs, its process and its latest block."""
        pid = self._pid()
        block = None
        if pid is not None:
            try:
                block = int(str(_rpc(self.url, "eth_blockNumber")), 16)
            except (OSError, urllib.error.URLError, ValueError):
                block = None
        return NodeStatus(pid is not None, self.url if pid else None, pid, block, self.state_file)

    def start(self) -> NodeStatus:
        """Start the node (from its saved state, if any) and wait until it answers; its status then."""
        if self._pid() is not None:
            return self.status()
        self._reap()
        if port_taken(self.port):
            # Checked first: a new anvil fails on a taken port only after a moment, and meanwhile the
            # program holding the port (another workspace's node) would answer as if it were this one.
            raise ConfigError(self._port_in_use())
        binary = anvil_binary()
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(CHAIN_ID),
            "--silent",
            # Past states are kept in memory only, the latest few: by default anvil also writes them
            # under ~/.foundry/anvil/tmp, a directory that grows by a full state per block and is left
            # behind whenever the node is killed. The ledger reads recent past states only: a
            # verification reads balances as of the block its events end at, and a failed transaction
            # is explained by replaying it on the state before its block.
            "--prune-history",
            str(KEPT_STATES),
            *self.extra_args,
        ]
        if self.persist:
            # the whole state is written every second and on a clean stop, so a restart finds it
            args += ["--state", str(self.state_file), "--state-interval", "1"]
        with self.log_file.open("ab") as log:
            logged = log.tell()  # what this start writes comes after it
            process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        self._process = process
        self.pid_file.write_text(json.dumps({"pid": process.pid, "port": self.port}))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                with self.log_file.open("rb") as log:
                    log.seek(logged)
                    said = log.read().decode(errors="replace")
                raise ConfigError(self._why_it_stopped(said))
            try:
                _rpc(self.url, "eth_chainId", timeout=0.5)
                return self.status()
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        process.terminate()
        raise ConfigError(f"anvil did not answer on {self.url} within {START_TIMEOUT_S:.0f} s")

    def _port_in_use(self) -> str:
        return (
            f"port {self.port} is in use by another program (another workspace's node?): stop it, or start "
            "this node on another port (`ledger node start --port N`)"
        )

    def _why_it_stopped(self, said: str) -> str:
        """A sentence for a node that stopped as it started, from what anvil wrote (its first line of it)."""
        first = next((line.strip().removeprefix("error: ") for line in said.splitlines() if line.strip()), "")
        if "--state" in said and ("parse" in said or "EOF" in said):
            found = re.search(r'json file: "[^"]*": (.+)', said)
            reason = (found.group(1) if found else first)[:200]
            return (
                f"the node's state file {self.state_file} is damaged ({reason}): restore it from a copy, or "
                "move it aside to start an empty chain, on which the contracts are deployed anew (`ledger deploy "
                "--force`)"
            )
        if "in use" in said.lower():  # taken between the check before the start and the start itself
            return self._port_in_use()
        return f"anvil stopped as it started: {first[:300] or 'it wrote nothing'} (all it wrote: {self.log_file})"

    def stop(self) -> bool:
        """Stop the node (it writes its state on the way out). False if it was not running."""
        pid = self._pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        self._reap()
        return True

    def _reap(self) -> None:
        """Collect a node this object started and that has ended (so no zombie or warning is left)."""
        if self._process is not None and self._process.poll() is not None:
            self._process = None
            self.pid_file.unlink(missing_ok=True)

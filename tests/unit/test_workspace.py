"""The workspace's reading of its own records, without a chain."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address

from ledger.chain.artifacts import DEPLOYED_CONTRACTS
from ledger.chain.record import DeploymentRecord
from ledger.config import Config
from ledger.errors import ConfigError, InputError
from ledger.services.workspace import Workspace, _loopback_port


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://127.0.0.1:8545", 8545),
        ("http://127.0.0.1:8545/", 8545),
        ("http://127.0.0.1:²", None),  # a digit to str.isdigit, not to int()
        ("http://127.0.0.1:99999", None),
        ("http://127.0.0.1:0", None),
        ("https://node.example:8545", None),
        (None, None),
    ],
)
def test_the_loopback_port_of_a_recorded_node_url(url: str | None, port: int | None) -> None:
    assert _loopback_port(url) == port


def _record() -> DeploymentRecord:
    addresses = {name: to_checksum_address("0x" + f"{i + 10:02x}" * 20) for i, name in enumerate(DEPLOYED_CONTRACTS)}
    return DeploymentRecord(
        chain_id=31337,
        addresses=addresses,
        artifact_hashes=dict.fromkeys(DEPLOYED_CONTRACTS, "ab" * 32),
        block=1,
        regulator=to_checksum_address("0x" + "aa" * 20),
        rpc="http://127.0.0.1:8545",
    )


def test_a_deployment_record_reads_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    _record().save(path)
    assert DeploymentRecord.load(path) == _record()


def test_addresses_edited_into_lower_case_read_back_in_their_checksum_form(tmp_path: Path) -> None:
    """web3 takes an address only in its checksum form; in lower case it is the same address."""
    path = tmp_path / "deployment.json"
    record = _record()
    lowered = replace(
        record, addresses={n: a.lower() for n, a in record.addresses.items()}, regulator=record.regulator.lower()
    )
    assert lowered != record
    lowered.save(path)
    assert DeploymentRecord.load(path) == record


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"block": "1"}, "block"),
        ({"chain_id": True}, "chain_id"),
        ({"addresses": ["0x" + "01" * 20]}, "addresses"),
        ({"addresses": {"Membership": "0x1"}}, "addresses"),
        ({"regulator": None}, "regulator"),
        ({"regulator": "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}, "regulator"),  # fails its EIP-55 checksum
        ({"addresses": {n: "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" for n in DEPLOYED_CONTRACTS}}, "addresses"),
        ({"rpc": 8545}, "rpc"),
        ({"artifact_hashes": None, "version": 2}, "artifact_hashes, version"),
    ],
)
def test_a_deployment_record_edited_out_of_shape_is_named_before_it_is_used(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps({**asdict(_record()), **change}), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        DeploymentRecord.load(path)
    assert str(refused.value) == (
        f"the deployment record {path} has a malformed {named} (edited by hand?): "
        "correct it, or deploy anew with `ledger deploy --force`"
    )


@pytest.mark.parametrize(("text", "says"), [("[]", "is not one this version writes"), ("{", "is unreadable")])
def test_a_deployment_record_that_is_no_record_is_named(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        DeploymentRecord.load(path)


def test_the_local_node_is_looked_after_without_loading_the_chain_client(tmp_path: Path) -> None:
    """`ledger node start|stop|status` reads the deployment record (its node's port) and nothing of web3,
    whose imports would take most of a second of every call."""
    _record().save(tmp_path / "deployment.json")
    probe = (
        "import sys; from ledger.cli import main; "
        f"code = main(['node', 'status', '--home', {str(tmp_path)!r}]); "
        "print(code, sorted(m for m in ('web3', 'eth_account') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines()[-1] == "3 []", done.stdout + done.stderr  # 3: no node is running


def test_the_name_book_takes_addresses_in_any_case_and_names_an_entry_that_is_none(tmp_path: Path) -> None:
    config = Config(home=tmp_path)
    account = to_checksum_address("0x" + "ab" * 20)
    config.names_path.parent.mkdir(parents=True, exist_ok=True)
    config.names_path.write_text(json.dumps({"imu": account.lower()}), encoding="utf-8")
    assert Workspace(config).resolve("imu") == account
    mistyped = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # fails its EIP-55 checksum
    book = {"imu": account, "steel": "0x1234", "casi": 7, "wang": mistyped}
    config.names_path.write_text(json.dumps(book), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        Workspace(config).names()
    assert str(refused.value) == (
        f"the name book {config.names_path} gives no account address for 'steel', 'casi', 'wang' (edited by hand?): "
        "correct it, or take the name out"
    )


def test_an_address_whose_checksum_fails_is_said_to_be_mistyped(tmp_path: Path) -> None:
    workspace = Workspace(Config(home=tmp_path))
    account = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example
    assert workspace.resolve(account.lower()) == account  # no checksum to check: taken as written
    flipped = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # one letter's case changed, as a typo would
    with pytest.raises(InputError) as refused:
        workspace.resolve(flipped)
    assert str(refused.value) == (
        f"{flipped!r} is not a valid address: its capital letters do not match its checksum (EIP-55), "
        "so a character is probably mistyped"
    )
    with pytest.raises(InputError, match=r"is not a valid address \(0x followed by 40 hexadecimal digits\)"):
        workspace.resolve(account[:-1])


@pytest.mark.parametrize(
    ("typed", "plain"), [("ｉｍｕ", "imu"), ("９１１１００００８０２１００４３３Ｂ", "91110000802100433B")]
)
def test_a_member_named_in_full_width_characters_is_told_the_half_width_spelling(
    tmp_path: Path, typed: str, plain: str
) -> None:
    with pytest.raises(InputError) as refused:
        Workspace(Config(home=tmp_path)).resolve(typed)
    assert str(refused.value) == f"{typed!r} is written in full-width characters; write it as {plain}"


@pytest.mark.parametrize(("value", "home"), [(None, ".ledger"), ("", ".ledger"), ("/srv/market", "/srv/market")])
def test_the_workspace_is_ledger_home_or_dot_ledger_where_the_command_runs(
    value: str | None, home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.config import default_home

    if value is None:
        monkeypatch.delenv("LEDGER_HOME", raising=False)
    else:
        monkeypatch.setenv("LEDGER_HOME", value)  # set but empty, as `LEDGER_HOME= ledger ...`: unset
    assert default_home() == Path(home)


def test_the_workspace_warns_of_an_index_it_found_damaged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _record().save(home / "deployment.json")
    warned: list[str] = []
    ws = Workspace(Config(home=home, index_dir=tmp_path / "index"), warn=warned.append)
    path = tmp_path / "index" / f"31337-{_record().addresses['Membership'].lower()}.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"overwritten" * 100)
    ws.index().db.close()
    assert warned == [f"the local event index was damaged (kept as {path}.damaged); it is read again from the chain"]


def test_a_workspace_that_is_a_file_is_said_to_be_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        DeploymentRecord.load(home / "deployment.json")
    assert str(refused.value) == f"the workspace {home} is a file, not a folder"

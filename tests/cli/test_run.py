"""`ledger run` and `ledger demo` as a user types them (SPEC §7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import DEMO, Run, workspace_env


def test_demo_prints_the_summary_and_exits_zero(ledger: Run) -> None:
    result = ledger("demo")
    assert result.returncode == 0, result.stderr
    assert "内蒙古大学" in result.stdout
    assert "R11-LANDING" in result.stdout and "Verified" in result.stdout
    # the refused duplicate says what differs from the payment recorded under its reference (the JSON keeps
    # the ledger's sentence alone: test_run_json_has_exactly_the_spec_shape)
    assert (
        "  event 7: DuplicatePayment: payment reference BANK-0001 was already recorded with different data: "
        "contract TC-3 here, TC-1 recorded; for milestone 1 here, milestone 0 recorded; amount 500,000.00 yuan "
        "here, 1,000,000.00 yuan recorded; date 2026-07-02 here, 2026-05-02 recorded\n"
    ) in result.stdout
    assert "Replayed (already recorded, nothing changed): event 2\n" in result.stdout
    tc3 = next(line for line in result.stdout.splitlines() if line.startswith("TC-3 "))
    assert tc3.endswith(
        "process package: paid 1,200,000.00/1,200,000.00; commissioning: paid 1,000,000.00/1,000,000.00"
    )


def test_a_terminal_without_chinese_shows_names_as_escapes_rather_than_failing(ledger: Run) -> None:
    result = ledger("demo", env={"PYTHONIOENCODING": "latin-1"})  # a Latin-1 terminal: no 内蒙古大学
    assert result.returncode == 0, result.stderr
    assert "imu \\u5185\\u8499\\u53e4\\u5927\\u5b66" in result.stdout and "Verified" in result.stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="/dev/full, a device that is always full, is Linux's")
def test_output_that_cannot_be_written_is_one_sentence_not_a_traceback(tmp_path: Path) -> None:
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "ledger.cli", "demo"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=workspace_env(tmp_path),
            cwd=tmp_path,
            timeout=120,
        )
    assert (done.returncode, done.stderr) == (1, "error: cannot write the output: No space left on device\n")


def test_a_scenario_with_nothing_in_it_says_so(ledger: Run, tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"scenario": 1, "policy": null, "members": []}', encoding="utf-8")
    result = ledger("run", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:5] == [
        "Points by member (centipoint-exact, in points)",
        "the scenario declares no members",
        "",
        "Contracts (yuan)",
        "the scenario declares no contracts",
    ]


def test_names_from_the_file_are_printed_as_text_never_run_by_the_terminal(ledger: Run, tmp_path: Path) -> None:
    member = {"id": "wang", "name": "王\n博士\x1b[2J", "kind": "individual", "in_region": True}
    path = tmp_path / "names.json"
    path.write_text(json.dumps({"scenario": 1, "policy": None, "members": [member]}), encoding="utf-8")
    result = ledger("run", str(path))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "wang 王\\n博士\\x1b[2J" in result.stdout


def test_run_json_has_exactly_the_spec_shape(ledger: Run) -> None:
    result = ledger("run", str(DEMO), "--json")
    assert result.returncode == 3, result.stderr  # the demo holds one refused duplicate
    out = json.loads(result.stdout)
    assert set(out) == {"members", "contracts", "rejected", "replayed", "verification"}
    declared = {m["id"] for m in json.loads(DEMO.read_text(encoding="utf-8"))["members"]}
    assert set(out["members"]) == declared
    for member in out["members"].values():
        assert set(member) == {"address", "points", "issued", "redeemed", "by_rule"}
        assert all(v != "0.00" for v in member["by_rule"].values())
    assert out["members"]["imu"]["by_rule"] == {"R11-LANDING": "440000.00", "R3-LICENSOR": "10240.00"}
    assert out["members"]["steel"]["redeemed"] == "100.00"
    assert out["members"]["steel"]["points"] == "10140.00"
    assert out["contracts"]["TC-1"] == {
        "received": "1024000.00",
        "outstanding": "0.00",
        "milestones": [{"status": "paid", "paid": "1000000.00", "due": "1000000.00"}],
    }
    assert out["rejected"] == [
        {
            "event": 7,
            "error": "DuplicatePayment",
            "message": "payment reference BANK-0001 was already recorded with different data",
        }
    ]
    assert out["replayed"] == [2]
    assert out["verification"] == {"ok": True, "discrepancies": []}


def _scenario(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_all_accepted_exits_zero(ledger: Run, tmp_path: Path) -> None:
    doc = json.loads(DEMO.read_text(encoding="utf-8"))
    doc["events"] = [e for i, e in enumerate(doc["events"]) if i != 7]
    result = ledger("run", _scenario(tmp_path, doc), "--json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["rejected"] == []


def _demo_with(change: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    change(doc)
    return doc


INVALID = {
    "amount with three decimals": (lambda d: d["events"][1].update(amount="12.345"), "events[1].amount"),
    "negative amount": (lambda d: d["events"][1].update(amount="-1"), "events[1].amount"),
    "amount not a number": (lambda d: d["events"][1].update(amount="abc"), "events[1].amount"),
    "huge number": (lambda d: d["events"][1].update(amount=1e30), "events[1].amount"),
    "events out of order": (lambda d: d["events"][3].update(at="2026-01-01"), "events[3].at"),
    "unknown contract": (lambda d: d["events"][1].update(contract="TC-99"), "events[1].contract"),
    "unknown member": (lambda d: d["contracts"][0].update(buyer="nobody"), "contracts[0].buyer"),
    "bad credit code": (lambda d: d["members"][0].update(uscc="91110000802100433C"), "members[0].uscc"),
    "unknown event type": (lambda d: d["events"][0].update(type="gift"), "events[0].type"),
    "seller is buyer": (lambda d: d["contracts"][0].update(buyer="imu"), "contracts[0].buyer"),
    "instrument below threshold": (
        lambda d: d["instruments"][0].update(original_value="99999.99"),
        "instruments[0].original_value",
    ),
    "value not sum of milestones": (lambda d: d["contracts"][0].update(value="1.00"), "contracts[0].value"),
    "bad date": (lambda d: d["events"][0].update(at="2026-13-01"), "events[0].at"),
    "duplicate member id": (lambda d: d["members"].append(dict(d["members"][0])), "members[8].id"),
    "policy no file can be named": (  # the file's fault, quoted cut short, not the system's "name too long"
        lambda d: d.update(policy="x" * 5000),
        f"policy: policy file '{'x' * 40}...' (5,000 characters) does not exist",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_file_exits_two_with_one_sentence_naming_the_place(ledger: Run, tmp_path: Path, case: str) -> None:
    change, where = INVALID[case]
    result = ledger("run", _scenario(tmp_path, _demo_with(change)), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert where in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\n", "bad.json: the file is empty: it holds no JSON at all"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"scenario": NaN}', "NaN is not a JSON number"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        ('{"scenario": 1, "members": [{"name": "内蒙古大学"}]}'.encode("gbk"), "reads as GB18030 (GBK)"),
        (b"[]", "JSON object"),
        (b'{"scenario": 2}', "scenario"),
    ],
)
def test_malformed_files_exit_two(ledger: Run, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = ledger("run", str(path))
    assert result.returncode == 2
    assert message in result.stderr


def test_a_key_given_twice_keeps_its_last_value_and_is_warned_of(ledger: Run, tmp_path: Path) -> None:
    """The format is a stable interface: a file that JSON readers take (the last of two values) runs,
    and the warning says what was read."""
    text = DEMO.read_text(encoding="utf-8").replace(
        '"amount": "1200000.00"', '"amount": "1.00", "amount": "1200000.00"'
    )
    path = tmp_path / "twice.json"
    path.write_text(text, encoding="utf-8")
    result = ledger("run", str(path), "--json")
    demo = ledger("run", str(DEMO), "--json")
    assert result.returncode == demo.returncode
    assert _without_addresses(result.stdout) == _without_addresses(demo.stdout)
    assert result.stderr == f"warning: {path}: an object gives the key 'amount' twice; its last value is used\n"


def _without_addresses(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    for member in data["members"].values():
        member.pop("address")
    return data


def test_missing_file_exits_two(ledger: Run, tmp_path: Path) -> None:
    result = ledger("run", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def _interrupt(*_args: Any, **_kwargs: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("argv", "patched", "says"),
    [
        (["demo"], "ledger.services.runner.run_scenario", "from the start on a fresh deployment"),
        (["run", str(DEMO)], "ledger.services.runner.run_scenario", "from the start on a fresh deployment"),
        (["settle", "import", "bank.csv"], "ledger.services.workspace.Workspace.__init__", "again to resume"),
        (["verify"], "ledger.services.workspace.Workspace.__init__", "only reads, so nothing changed"),
        (["contract", "list"], "ledger.services.workspace.Workspace.__init__", "only reads, so nothing changed"),
    ],
)
def test_ctrl_c_says_what_running_again_does(
    argv: list[str], patched: str, says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ledger.cli import main

    monkeypatch.setattr(patched, _interrupt)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: ") and says in err
    assert "Traceback" not in err


def test_a_contract_refused_at_registration_is_said_and_its_events_are_refused_saying_why(
    ledger: Run, tmp_path: Path
) -> None:
    """`rejected` lists events (SPEC section 7); a contract is no event, so its refusal (a party suspended by
    its signing date) is a warning, the reason of every refusal of an event on it, and exit 3."""
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    members = [m for m in demo["members"] if m["id"] in ("imu", "steel")]
    contract = {
        "id": "TC-9",
        "kind": "transfer",
        "seller": "imu",
        "buyer": "steel",
        "signed": "2026-03-01",
        "plan": "lump_sum",
        "milestones": [{"title": "all", "amount": "2500000.00", "due": "2026-12-31"}],
    }
    events = [
        {"at": "2026-02-01", "type": "suspend", "member": "steel"},
        {"at": "2026-03-02", "type": "payment", "ref": "B-1", "contract": "TC-9", "amount": "2500000.00"},
    ]
    path = _scenario(tmp_path, {"scenario": 1, "members": members, "contracts": [contract], "events": events})
    result = ledger("run", path, "--json")
    assert result.returncode == 3, result.stderr
    refusal = "PartySuspended: steel is suspended and cannot be a party to a new contract"
    assert f"warning: contract TC-9 was not registered: {refusal}\n" in result.stderr
    out = json.loads(result.stdout)
    assert out["rejected"] == [
        {
            "event": 1,
            "error": "UnknownContract",
            "message": f"there is no contract TC-9: its registration was refused ({refusal})",
        }
    ]
    assert out["contracts"]["TC-9"]["received"] == "0.00"
    assert out["members"]["imu"]["by_rule"] == {}
    readable = ledger("run", path)
    assert readable.returncode == 3
    assert f"  contract TC-9 not registered: {refusal}\n  event 1: UnknownContract: " in readable.stdout

"""Separate `ledger` processes against a local anvil node whose state survives a restart.

One node and one deployment serve the whole module (each `ledger` process costs ~2 s of imports);
the tests run in file order and each leaves the market usable for the next.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.session import ChainSession, NodeRefused
from ledger.config import Config
from ledger.domain.money import Centipoints, group_thousands
from ledger.services.redemption import redeem_once
from ledger.services.workspace import Workspace
from tests.cli.conftest import CERTIFY, ENROL_IMU, ENROL_STEEL, OUTPUTS, PASSPHRASE, Run, market_on_node, workspace_env
from tests.nodes import needs_anvil

pytestmark = needs_anvil


@dataclass
class Market:
    ledger: Run
    port: str
    folder: Path


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    folder = tmp_path_factory.mktemp("market")
    with market_on_node(folder, *CERTIFY, ENROL_IMU, ENROL_STEEL) as (ledger, port):
        yield Market(ledger, port, folder)


def _register(market: Market, contract_id: str, *, kind: str, buyer: str, amount: str) -> None:
    """Register, through `ledger contract register`, a one-milestone lump-sum contract sold by imu."""
    contract = {
        "id": contract_id,
        "kind": kind,
        "seller": "imu",
        "buyer": buyer,
        "signed": "2026-02-01",
        "plan": "lump_sum",
        "milestones": [{"title": "all", "amount": amount, "due": "2026-06-30"}],
    }
    path = market.folder / f"{contract_id}.json"
    path.write_text(json.dumps(contract), encoding="utf-8")
    registered = market.ledger("contract", "register", "--file", str(path))
    assert registered.returncode == 0, registered.stderr


def _royalty_licence(market: Market, contract_id: str, *, buyer: str, royalty_bps: int = 300) -> Path:
    """The file of a zero-upfront licence sold by imu, with a royalty, for `ledger contract register`."""
    contract = {
        "id": contract_id,
        "kind": "license",
        "seller": "imu",
        "buyer": buyer,
        "signed": "2026-02-01",
        "plan": "zero_upfront_staged_royalty",
        "royalty_bps": royalty_bps,
        "milestones": [{"title": "stage 1", "amount": "100.00", "due": "2026-06-30"}],
    }
    path = market.folder / f"{contract_id}.json"
    path.write_text(json.dumps(contract), encoding="utf-8")
    return path


def test_members_survive_a_node_restart(market: Market) -> None:
    ledger = market.ledger
    assert ledger("node", "stop", "--port", market.port).returncode == 0
    status = ledger("node", "status", "--port", market.port, "--json")
    assert status.returncode == 3 and status.stdout.count('"running": false') == 1
    stopped = ledger("member", "list")
    assert stopped.returncode == 1
    assert stopped.stderr.strip().endswith(
        f"this workspace's node is stopped: `ledger node start --port {market.port}`"
    )
    elsewhere = ledger("member", "list", "--rpc", "http://127.0.0.1:1")
    assert "cannot reach a chain at http://127.0.0.1:1" in elsewhere.stderr and "node start" not in elsewhere.stderr
    restarted = ledger("node", "start", "--json")  # no --port: the one the contracts were deployed through
    assert restarted.returncode == 0 and json.loads(restarted.stdout)["url"] == f"http://127.0.0.1:{market.port}"
    running = ledger("node", "status", "--port", market.port, "--json")
    assert running.returncode == 0 and json.loads(running.stdout)["running"] is True
    listed = ledger("member", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    members = {m["name"]: m for m in json.loads(listed.stdout)}
    assert set(members) == {"imu", "steel"}
    assert members["imu"]["kind"] == "university" and members["imu"]["in_region"] is True
    assert members["steel"]["in_region"] is False


def test_the_shells_node_user_is_not_used_for_the_workspaces_own_node(market: Market) -> None:
    """A shell set up for the production network (LEDGER_RPC_USER) still reaches this workspace's own
    node, which takes no login; a user named on the command line must log in, and anvil has no /login."""
    shell = {"LEDGER_RPC_USER": "auditor", "LEDGER_RPC_PASSWORD": "a production password"}
    shown = market.ledger("points", "balance", "imu", env=shell)
    assert shown.returncode == 0, shown.stderr
    refused = market.ledger("points", "balance", "imu", "--rpc-user", "auditor", env=shell)
    assert refused.returncode == 1
    assert "answered the login at" in refused.stderr and "it takes no user and password" in refused.stderr
    assert "a production password" not in refused.stdout + refused.stderr


def test_key_list_names_each_keystore_and_its_address_only(market: Market) -> None:
    listed = market.ledger("key", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    keys = {k["name"]: k for k in json.loads(listed.stdout)}
    names = json.loads((market.folder / "home" / "names.json").read_text(encoding="utf-8"))
    assert {"regulator", "operator", "imu", "steel"} <= set(keys)
    assert all(keys[n]["address"].lower() == names[n].lower() for n in keys)
    assert all(set(k) == {"name", "address", "keystore"} for k in keys.values())


def test_operator_settles_and_points_are_verified(market: Market) -> None:
    ledger = market.ledger
    _register(market, "TC-1", kind="license", buyer="steel", amount="2000000.00")
    # steel is outside the region: a licence to it earns no landing points
    settle = ledger(
        "settle", "--ref", "B1", "--contract", "TC-1", "--amount", "2000000.00", "--date", "2026-03-01", "--json"
    )
    assert settle.returncode == 0, settle.stderr
    assert json.loads(settle.stdout)["points"] == []
    replay = ledger(
        "settle", "--ref", "B1", "--contract", "TC-1", "--amount", "2000000.00", "--date", "2026-03-01", "--json"
    )
    assert json.loads(replay.stdout)["replayed"] is True
    # naming the contract's only milestone is the same payment: imports and scenarios name it too
    named = ledger(
        "settle",
        "--ref",
        "B1",
        "--contract",
        "TC-1",
        "--milestone",
        "0",
        "--amount",
        "2000000.00",
        "--date",
        "2026-03-01",
    )
    assert named.stdout.strip() == "payment B1 was already recorded with the same data: nothing changed"
    clash = ledger("settle", "--ref", "B1", "--contract", "TC-1", "--amount", "1.00", "--date", "2026-03-02")
    assert clash.returncode == 1
    assert clash.stderr.strip() == (
        "error: payment reference B1 was already recorded with different data: amount 1.00 yuan here, "
        "2,000,000.00 yuan recorded; date 2026-03-02 here, 2026-03-01 recorded"
    )
    # with --json, a program reads the refusal by its name, the sentence beside it
    clash_json = ledger("settle", "--ref", "B1", "--contract", "TC-1", "--amount", "1.00", "--json")
    assert clash_json.returncode == 1 and json.loads(clash_json.stdout)["error"] == "DuplicatePayment"
    assert json.loads(clash_json.stdout)["message"] == clash_json.stderr.strip().removeprefix("error: ")
    unknown = ledger("settle", "--ref", "B9", "--contract", "TC1", "--amount", "1.00", "--json")
    assert json.loads(unknown.stdout) == {
        "error": "UnknownContract",
        "message": "there is no contract TC1 (did you mean TC-1?)",
    }
    bad_amount = json.loads(ledger("settle", "--ref", "B9", "--contract", "TC-1", "--amount", "1.5.0", "--json").stdout)
    assert bad_amount["error"] == "AmountError" and bad_amount["message"].startswith("--amount '1.5.0' is not")
    shown = json.loads(ledger("contract", "show", "TC-1", "--json").stdout)
    assert shown["received"] == "2000000.00" and shown["milestones"][0]["status"] == "paid"
    paid = {"ref": "B1", "date": "2026-03-01", "milestone": 0, "period": None, "kind": "cash", "amount": "2000000.00"}
    assert shown["payments"] == [paid]  # once, for all its resends
    assert ledger("contract", "show", "TC-1").stdout.splitlines()[-1].split() == [
        "B1", "2026-03-01", "#0", "cash", "2,000,000.00"
    ]  # fmt: skip
    verify = ledger("verify", "--json")
    assert verify.returncode == 0, verify.stdout
    verified = json.loads(verify.stdout)
    head = ChainSession.connect(f"http://127.0.0.1:{market.port}").head()
    assert verified["ok"] is True and verified["block"] == head
    assert ledger("verify").stdout.startswith(f"verified as of block {head}: ")
    assert json.loads(ledger("verify", "--member", "imu", "--json").stdout)["ok"] is True


def test_operators_are_appointed_removed_and_listed(market: Market) -> None:
    ledger = market.ledger

    def listed() -> list[str]:
        return [o["name"] for o in json.loads(ledger("operator", "list", "--json").stdout)]

    assert listed() == ["operator"]
    assert ledger("operator", "add", "second").stdout.strip().endswith(") is an operator")
    assert listed() == ["operator", "second"]
    removed = ledger("operator", "remove", "second")
    assert removed.returncode == 0 and removed.stdout.strip().endswith(") is not an operator")
    assert listed() == ["operator"]  # appointed once, removed since
    assert ledger("operator", "add", "second").returncode == 0
    assert [line.split()[0] for line in ledger("operator", "list").stdout.splitlines()[2:]] == ["operator", "second"]


def test_contract_show_names_each_milestone_by_its_title(market: Market) -> None:
    """Titles live only in the chain's log; each contract shows its own, by index."""
    contract = {
        "id": "TC-M",
        "kind": "transfer",
        "seller": "imu",
        "buyer": "steel",
        "signed": "2026-02-01",
        "plan": "staged",
        "milestones": [
            {"title": "pilot line", "amount": "10.00", "due": "2026-06-30"},
            {"title": "量产验收", "amount": "20.00", "due": "2026-12-31"},
        ],
    }
    path = market.folder / "TC-M.json"
    path.write_text(json.dumps(contract, ensure_ascii=False), encoding="utf-8")
    assert market.ledger("contract", "register", "--file", str(path)).returncode == 0
    unnamed = market.ledger("milestone", "achieve", "TC-M", "--date", "2026-03-01")
    assert (unnamed.returncode, unnamed.stderr.strip()) == (
        1,
        "error: contract TC-M has 2 milestones: name the one achieved, `ledger milestone achieve TC-M INDEX` (0 to 1)",
    )
    achieved = market.ledger("milestone", "achieve", "TC-M", "1", "--date", "2026-03-01")
    assert achieved.returncode == 0, achieved.stderr
    table = achieved.stdout.splitlines()
    assert table[2].split()[:2] == ["#", "title"]
    assert [line.split()[:3] for line in table[4:6]] == [["0", "pilot", "line"], ["1", "量产验收", "achieved"]]
    assert table[6:] == ["no payments recorded"]
    shown = json.loads(market.ledger("contract", "show", "TC-M", "--json").stdout)
    titles = [(m["title"], m["status"]) for m in shown["milestones"]]
    assert titles == [("pilot line", "pending"), ("量产验收", "achieved")]
    other = json.loads(market.ledger("contract", "show", "TC-1", "--json").stdout)
    assert [m["title"] for m in other["milestones"]] == ["all"]


def test_commands_signing_with_one_key_at_once_each_record_their_payment(market: Market) -> None:
    """Six `ledger settle` at once, all signed by the operator: they race for the same nonces and
    the same name book, and each still records its payment exactly once."""
    _register(market, "TC-C", kind="transfer", buyer="steel", amount="100.00")
    env = workspace_env(market.folder)
    settle = [sys.executable, "-m", "ledger.cli", "settle", "--contract", "TC-C", "--amount", "1.00"]
    processes = [
        subprocess.Popen(
            [*settle, "--ref", f"AT-ONCE-{i}", "--date", f"2026-03-0{i + 1}"],
            env=env,
            cwd=market.folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        results.append((process.returncode, out, err))
    OUTPUTS.extend(out + err for _, out, err in results)
    assert [code for code, _, _ in results] == [0] * 6, [err for _, _, err in results]
    shown = json.loads(market.ledger("contract", "show", "TC-C", "--json").stdout)
    assert shown["received"] == "6.00"


def test_a_payment_to_a_suspended_party_is_recorded_and_says_its_points_are_withheld(market: Market) -> None:
    ledger = market.ledger
    suspensions = [json.loads(ledger("member", "suspend", "steel", "--json").stdout)["replayed"] for _ in range(2)]
    assert suspensions == [False, True]  # the second: the same command run again, nothing changed
    paid = ledger("settle", "--ref", "S-1", "--contract", "TC-C", "--amount", "1.00", "--date", "2026-03-09")
    assert paid.returncode == 0, paid.stderr
    assert paid.stdout.splitlines() == [
        "recorded payment S-1: 1.00 yuan on TC-C",
        "  steel is suspended: it earns no points from this payment",
    ]
    again = ledger("settle", "--ref", "S-1", "--contract", "TC-C", "--amount", "1.00", "--date", "2026-03-09", "--json")
    assert json.loads(again.stdout)["replayed"] is True and json.loads(again.stdout)["suspended_parties"] == []
    held = ledger("points", "balance", "steel")
    assert held.stdout.endswith(" points (suspended: it redeems and earns none until reinstated)\n"), held.stdout
    reinstatements = [json.loads(ledger("member", "reinstate", "steel", "--json").stdout)["replayed"] for _ in range(2)]
    assert reinstatements == [False, True]
    paid = ledger("settle", "--ref", "S-2", "--contract", "TC-C", "--amount", "1.00", "--date", "2026-03-09", "--json")
    assert json.loads(paid.stdout)["suspended_parties"] == []
    assert json.loads(ledger("points", "balance", "steel", "--json").stdout)["status"] == "active"


def test_a_contract_file_naming_a_field_the_format_lacks_is_refused_not_half_read(market: Market) -> None:
    """A misspelt broker would be read as no broker, and the broker's points lost without a word; a
    signing date years ahead (2062 for 2026) would register a contract no payment could yet be for."""
    contract = {
        "id": "TC-TYPO",
        "kind": "transfer",
        "seller": "imu",
        "buyer": "steel",
        "brokr": "steel",
        "signed": "2026-02-01",
        "milestones": [{"title": "all", "amout": "1.00", "amount": "1.00", "due": "2026-06-30"}],
    }
    path = market.folder / "typo.json"
    path.write_text(json.dumps(contract), encoding="utf-8")
    refused = market.ledger("contract", "register", "--file", str(path))
    assert refused.returncode == 1
    assert "names field(s) a contract does not have: brokr, milestones[0].amout; a contract has" in refused.stderr
    assert "there is no contract TC-TYPO" in market.ledger("contract", "show", "TC-TYPO").stderr
    milestone = {"title": "all", "amount": "1.00", "due": "2062-06-30"}
    ahead = {**contract, "signed": "2062-02-01", "milestones": [milestone]}
    del ahead["brokr"]
    path.write_text(json.dumps(ahead), encoding="utf-8")
    refused = market.ledger("contract", "register", "--file", str(path))
    assert refused.returncode == 1
    assert "contract TC-TYPO is dated as signed on 2062-02-01, after today (20" in refused.stderr


def test_statement_report_and_fresh_verify(market: Market) -> None:
    ledger = market.ledger
    assert ledger("ca", "issue", "baotou", "--uscc", "91150105MA0Q123458").returncode == 0
    enrol = ledger("member", "enrol", "baotou", "--kind", "enterprise", "--uscc", "91150105MA0Q123458", "--in-region")
    assert enrol.returncode == 0, enrol.stderr
    _register(market, "TC-2", kind="transfer", buyer="baotou", amount="2000000.00")
    contracts = json.loads(ledger("contract", "list", "--json").stdout)
    assert [c["id"] for c in contracts] == ["TC-1", "TC-M", "TC-C", "TC-2"]  # each once, in registration order
    listed = ledger("contract", "list").stdout.splitlines()
    # nothing received yet, and its one milestone was due on 2026-06-30 (the node's clock is today's)
    assert next(line for line in listed if line.startswith("TC-2 ")).split() == [
        "TC-2", "transfer", "imu", "baotou", "2026-02-01", "2,000,000.00", "0.00", "2,000,000.00", "#0"
    ]  # fmt: skip
    overdue = json.loads(ledger("contract", "list", "--overdue", "--json").stdout)
    assert "TC-2" in [c["id"] for c in overdue]
    assert [c["id"] for c in overdue] == [c["id"] for c in contracts if c["overdue_milestones"]]
    assert all(c["outstanding"] != "0.00" for c in overdue)
    policy = ledger("policy", "show").stdout.splitlines()
    assert next(line for line in policy if line.startswith("R11-LANDING ")).split() == [
        "R11-LANDING", "1", "2000", "0.00", "2,000,000.00", "2026-01-15", "2026-01-15", "to", "2028-12-31"
    ]  # fmt: skip
    paid = ledger("settle", "--ref", "B9", "--contract", "TC-2", "--amount", "2000000.00", "--date", "2026-05-01")
    assert paid.returncode == 0, paid.stderr
    statement = ledger("statement", "imu")
    assert statement.returncode == 0, statement.stderr
    assert "科技成果在区内落地转化" in statement.stdout and "B9" in statement.stdout
    assert "400,000.00" in statement.stdout and "verified" in statement.stdout
    listed = {m["name"]: m["points"] for m in json.loads(ledger("member", "list", "--json").stdout)}
    assert listed["imu"] == "400000.00" and listed["steel"] == "0.00"
    imu_row = next(line for line in ledger("member", "list").stdout.splitlines() if line.startswith("imu "))
    assert imu_row.endswith(" 400,000.00")
    sheet_out = ledger("statement", "imu", "--format", "csv")
    rows = sheet_out.stdout.splitlines()
    assert rows[0].startswith("date,what,contract,reference,rule,clause")
    assert len(rows) == 2 and sheet_out.stderr.startswith("verified as of block ")  # beside the rows, not in them
    assert rows[1].startswith("2026-05-01,issued,TC-2,B9,R11-LANDING,clause 11")
    sheet = market.folder / "imu.csv"
    written = ledger("statement", "imu", "--format", "csv", "--output", str(sheet), "--json")
    assert json.loads(written.stdout) == {"output": str(sheet), "format": "csv", "lines": 1, "verified": True}
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel and WPS take for UTF-8
    assert sheet.read_text(encoding="utf-8-sig").splitlines() == rows
    assert json.loads(ledger("statement", "imu", "--year", "2027", "--json").stdout)["lines"] == []
    redeemed = ledger("redeem", "imu", "1000.00", "--purpose", "instrument booking")
    assert redeemed.stdout.strip() == "imu redeemed 1,000.00 points for instrument booking; 399,000.00 left"
    mine = json.loads(ledger("verify", "--member", "imu", "--json").stdout)
    imu = mine["member"]["address"]
    held = {"points": "399000.00", "issued": "400000.00", "recomputed": "400000.00", "redeemed": "1000.00"}
    assert mine["ok"] is True and mine["member"] == {"address": imu, **held}
    assert ledger("verify", "--member", "imu").stdout.splitlines()[-1] == (
        f"imu ({imu}) holds 399,000.00 points on chain: issued 400,000.00 (recomputed 400,000.00), redeemed 1,000.00"
    )
    history = json.loads(ledger("points", "history", "imu", "--json").stdout)["history"]
    assert [(h["date"], h["contract"], h["what"], h["source"], h["points"], h["balance"]) for h in history] == [
        ("2026-05-01", "TC-2", "R11-LANDING", "B9", "400000.00", "400000.00"),
        (history[1]["time"][:10], None, "redeemed: instrument booking", None, "-1000.00", "399000.00"),
    ]
    table = ledger("points", "history", "imu").stdout.splitlines()
    assert table[0].split() == ["date", "contract", "rule", "or", "purpose", "for", "points", "balance"]
    assert table[2].split() == ["2026-05-01", "TC-2", "R11-LANDING", "B9", "400,000.00", "400,000.00"]
    report = ledger("report", "--json")
    assert json.loads(report.stdout)["points_by_rule"] == {"R11-LANDING": "400000.00"}
    text = ledger("report").stdout
    assert "verified as of block" in text
    reported = json.loads(report.stdout)
    registered = reported["registered_value"]
    assert reported["target_2028"] == {"registered_value": "30000000000.00", "progress_percent": "0.01"}
    target = f"30,000,000,000.00 yuan of registered contract value; registered so far {group_thousands(registered)}"
    assert f"2028 target: {target} (0.01%)\n" in text  # 300亿元; at least 3,000,000.00 of it registered
    fresh = ledger("verify", "--fresh", "--json")
    assert fresh.returncode == 0 and json.loads(fresh.stdout)["ok"] is True


def test_a_deployment_of_other_contracts_is_warned_of_once_a_command(market: Market) -> None:
    """Every command against contracts another version of the ledger deployed says so on stderr, once,
    even when its refusal reads the chain again (the registered ids spelt like an unknown one)."""
    record = market.folder / "home" / "deployment.json"
    kept = record.read_bytes()
    data = json.loads(kept)
    data["artifact_hashes"]["SettlementLedger"] = "00" * 32
    record.write_text(json.dumps(data), encoding="utf-8")
    try:
        shown = market.ledger("contract", "show", "TC1")
    finally:
        record.write_bytes(kept)
    assert shown.returncode == 1 and "(did you mean TC-1" in shown.stderr
    warnings = [line for line in shown.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: the deployment's SettlementLedger was built from other sources than this version of the ledger "
        "carries: the chain accepts and refuses as it was deployed to (`ledger deploy --force` deploys this "
        "version's contracts anew)"
    ]


def test_an_institution_without_the_operators_names_finds_itself_by_its_credit_code(market: Market) -> None:
    """A reader's workspace holds the deployment record alone: no names, no keys. The institution names
    itself by its unified social credit code, which the chain keeps as a hash."""
    reader = market.folder / "reader"
    (reader / "home").mkdir(parents=True)
    shutil.copy(market.folder / "home" / "deployment.json", reader / "home" / "deployment.json")
    env = {"LEDGER_HOME": str(reader / "home"), "LEDGER_DATA": str(reader / "data")}
    imu = json.loads(market.ledger("member", "show", "imu", "--json").stdout)["address"]
    balance = market.ledger("points", "balance", "121500004600012340", "--json", env=env)
    assert json.loads(balance.stdout) == {"member": imu, "address": imu, "points": "399000.00", "status": "active"}
    statement = market.ledger("statement", "121500004600012340", env=env)
    assert statement.returncode == 0, statement.stderr
    assert statement.stdout.splitlines()[0] == f"Points statement of {imu}"  # no name here to put beside it
    unknown = market.ledger("points", "balance", "91110000802100433B", env=env)  # well-formed, never enrolled
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no member is enrolled with the credit code 91110000802100433B"
    mistyped = market.ledger("points", "balance", "121500004600012341", env=env)  # wrong check character
    assert "no member or account is known by the name '121500004600012341'" in mistyped.stderr
    # the member list names no one here: its accounts, without a column of the same accounts again as names
    listed = market.ledger("member", "list", env=env).stdout.splitlines()
    assert listed[0].split() == ["address", "kind", "status", "in", "region", "points"]
    assert any(line.startswith(f"{imu}  university  active") for line in listed[2:])


def test_a_purpose_is_shown_as_text_never_run_by_a_terminal_or_a_spreadsheet(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redemption's purpose is written by the member who redeems, and a member may call the points
    contract directly, with any text: the statement sent to a spreadsheet and the history printed at a
    terminal show it as the text it is."""
    formula = '=HYPERLINK("http://example.com","refund")'
    assert market.ledger("redeem", "imu", "1.00", "--purpose", formula).returncode == 0
    broken = market.ledger("redeem", "imu", "1.00", "--purpose", "line one\nline two")
    assert broken.returncode == 1 and "holds a character that does not print" in broken.stderr
    monkeypatch.setenv("LEDGER_PASSPHRASE", PASSPHRASE)
    ws = Workspace(Config(home=market.folder / "home"))
    ws.client.redeem(ws.signer("imu"), points=Centipoints(100), purpose="booked\x1b[2J\x1b]0;owned\x07")
    sheet = market.ledger("statement", "imu", "--format", "csv").stdout
    redeemed = [row for row in csv.DictReader(io.StringIO(sheet)) if row["what"] == "redeemed"]
    assert "'" + formula in [row["reference"] for row in redeemed]  # an apostrophe: Excel and WPS show it as text
    # a redemption has no contract, rule or basis: empty cells (a "-" would be escaped as a formula's sign)
    unused = ("contract", "rule", "clause", "rule_title", "basis", "policy_version")
    assert {row[column] for row in redeemed for column in unused} == {""}
    lines = json.loads(market.ledger("statement", "imu", "--json").stdout)["lines"]
    assert {line["contract"] for line in lines if line["what"] == "redeemed"} == {None}
    history = market.ledger("points", "history", "imu").stdout
    assert "\x1b" not in history and "redeemed: booked\\x1b[2J\\x1b]0;owned\\x07" in history
    recorded = json.loads(market.ledger("points", "history", "imu", "--json").stdout)["history"]
    assert recorded[-1]["what"] == "redeemed: booked\x1b[2J\x1b]0;owned\x07"  # a program gets it as recorded


BAD_COMMANDS = [
    (["member", "enrol", "x", "--kind", "spaceship", "--uscc", "91110000802100433B"], "not one of"),
    (["member", "enrol", "x", "--kind", "university", "--uscc", "123"], "18"),
    (["member", "enrol", "x", "--kind", "university"], "credit code"),
    (
        ["member", "enrol", "imu", "--kind", "university", "--uscc", "121500004600012340"],
        "error: imu is already enrolled: in region no here, yes recorded",
    ),
    (["member", "show", "ghost"], "no member or account"),
    (
        ["member", "show", "0x000000000000000000000000000000000000dEaD"],
        "error: 0x000000000000000000000000000000000000dEaD is",
    ),
    (["member", "suspend", "0x123"], "not a valid address"),
    (["member", "reinstate", "imu"], "not suspended"),
    (["settle", "--ref", "R", "--contract", "C", "--amount", "-1"], "negative"),
    (["settle", "--ref", "R", "--contract", "NOPE", "--amount", "1.00"], "there is no contract NOPE"),
    (["settle", "--ref", "R", "--contract", "TC1", "--amount", "1.00"], "there is no contract TC1 (did you mean TC-1"),
    (["settle", "--ref", "S-1 ", "--contract", "TC-1", "--amount", "1.00"], "'S-1 ' begins or ends with white space"),
    (["settle", "--ref", "R", "--contract", "C", "--amount", "1.00", "--date", "yesterday"], "date"),
    (["settle", "--ref", "R", "--contract", "TC-1", "--amount", "1.00", "--date", "2099-01-01"], "in the future"),
    (["contract", "register", "--file", "/nonexistent.json"], "no contract file"),
    (["contract", "show", "NOPE"], "there is no contract NOPE"),
    (["contract", "show", "tc-1"], "there is no contract tc-1 (did you mean TC-1"),
    (["milestone", "achieve", "TC1"], "there is no contract TC1 (did you mean TC-1"),
    (["milestone", "achieve", "TC_1", "0"], "there is no contract TC_1 (did you mean TC-1"),
    (["points", "balance", "ghost"], "no member or account"),
    (["points", "balance", "0x000000000000000000000000000000000000dEaD"], "is not a member, so it has no points"),
    (["points", "history", "operator"], ") is not a member, so it has no points history"),
    (["statement", "imu", "--output", "/proc/no/such.csv"], "cannot write the statement file"),
    (["statement", "operator"], ") is not a member, so it has no points statement"),
    (["statement", "imu", "--year", "226"], "the year must be from 2000 to 2099, not 226"),
    (["redeem", "steel", "1.00", "--purpose", "x"], "cannot redeem"),
    (["redeem", "imu", "0", "--purpose", "x"], "0.00 points redeem nothing: redeem 0.01 points or more"),
    (["redeem", "ghost", "1.00", "--purpose", "x"], "signed by the member's own key, and this workspace holds no key"),
    (["policy", "publish", "/nonexistent.toml"], "cannot read policy file"),
    (["milestone", "achieve", "NOPE", "0"], "there is no contract NOPE"),
    (["instrument", "register", "I1", "--provider", "imu", "--value", "99999.99"], "can be shared"),
    (["instrument", "show", "NOPE"], "there is no shared instrument NOPE"),
    (["member", "enrol", "y", "--kind", "enterprise", "--uscc", "91110000802100433B", "--as", "x"], "unrecognized"),
    (["operator", "add", "imu", "--keystore", "/nonexistent.json"], "no keystore"),
    (["key", "new", "../outside"], "cannot name a key"),
    (["key", "new", "carol", "--keystore", "/tmp/carol.json"], "--keystore names a keystore that signs another"),
    (["key", "new", "0x000000000000000000000000000000000000dEaD"], "it reads as an account address"),
    (
        ["member", "enrol", "0x000000000000000000000000000000000000dEaD", "--kind", "individual"],
        "it reads as an account address",
    ),
    (["member", "enrol", "", "--kind", "enterprise", "--uscc", "91110000802100433B"], "needs the member's name"),
    (["milestone", "achieve", "TC-1", "-1"], "the milestone number must be from 0 to 4,294,967,294, not -1"),
    (["settle", "--ref", "R", "--contract", "TC-1", "--milestone", "x", "--amount", "1.00"], "a whole number"),
    (["settle", "import", "bank.csv", "--batch-size", "0"], "the number of rows must be 1 or more"),
    (["settle", "import", "bank.csv", "--batch-gas", "16777217"], "must be from 1 to 16,777,216"),
    (["node", "status", "--port", "70000"], "the port must be from 1 to 65,535"),
    (["ca", "issue", "someone", "--days", "0"], "the number of days must be from 1 to 36,500, not 0"),
    (["ca", "issue", "someone", "--days", "99999999"], "the number of days must be from 1 to 36,500"),
    (["verify", "--member", "nobody"], "no member or account is known by the name 'nobody'"),
    (["verify", "--member", ""], "--member is empty: give it a value, or leave it out"),
    (["verify", "--index-dir", "/proc/no-index"], "cannot be used (No such file or directory); it is only a cache"),
    (["contract", "show", "TC-1", "--index-dir", "/proc/no-index"], "give it a folder this user can write"),
    (["key", "new", "alice", "--home", "/proc/no-home"], "cannot use /proc/no-home: No such file or directory"),
    (["node", "start", "--home", "/proc/no-home", "--port", "1"], "cannot use /proc/no-home: No such file"),
]


@pytest.mark.parametrize(
    ("args", "message"), BAD_COMMANDS, ids=[f"{i}-{' '.join(a[:2])}" for i, (a, _) in enumerate(BAD_COMMANDS)]
)
def test_bad_input_gets_one_sentence_and_non_zero_exit(market: Market, args: list[str], message: str) -> None:
    result = market.ledger(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["contract", "show"], "contract show needs the contract id"),
        (["key", "new"], "key new needs the key's name"),
        (["ca", "issue"], "ca issue needs the member's name"),
        (["settle", "import"], "settle import needs the file"),
        (["member", "show"], "member show needs the member's name"),
        (["contract", "register"], "contract register needs --file"),
        (["royalty", "report", "TC-1", "2026Q2"], "a revenue report needs --revenue"),
        (["attest", "appointment", "imu"], "an appointment attestation needs --title"),
        (["instrument", "register", "I1", "--value", "150000.00"], "instrument register needs --provider MEMBER"),
        (["instrument", "show"], "instrument show needs the instrument's id"),
        (["operator", "add"], "operator add needs the operator's name"),
        (["settle", "--ref", "R"], "a payment needs --contract, --amount (or use `ledger settle import FILE`)"),
        (["settle", "R", "--ref", "R"], "argument action: invalid choice: 'R' (choose from 'import')"),
        (["settle", "imprt", "bank.csv"], "argument action: invalid choice: 'imprt' (choose from 'import')"),
        (["settle", "--check"], "--check is for `ledger settle import` only"),
        (["attest", "startup-revenue", "startup", "--year", "2026"], "a start-up revenue attestation needs --revenue"),
        (["terms", "seal", "terms.txt"], "terms seal needs --contract ID"),
        (["terms", "seal", "terms.txt", "--to", "imu"], "terms seal needs --contract ID"),
        (["terms", "open", "terms.txt.sealed.json"], "terms open needs --as NAME"),
    ],
)
def test_a_missing_argument_is_a_usage_error(market: Market, args: list[str], message: str) -> None:
    """Whichever command lacks its argument, the answer has one shape: `ledger COMMAND: ...`, exit 2,
    pointing at that command's help."""
    result = market.ledger(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"ledger {args[0]}: {message}")
    assert result.stderr.rstrip().endswith(f"(see `ledger {args[0]} --help`)")
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_plays_a_scenario_on_a_json_rpc_node(market: Market) -> None:
    from tests.cli.conftest import DEMO

    result = market.ledger("run", str(DEMO), "--rpc", f"http://127.0.0.1:{market.port}", "--json")
    assert result.returncode == 3, result.stderr  # the demo's refused duplicate
    out = json.loads(result.stdout)
    assert out["verification"] == {"ok": True, "discrepancies": []}
    assert out["members"]["imu"]["by_rule"] == {"R11-LANDING": "440000.00", "R3-LICENSOR": "10240.00"}
    # all the rest as on the embedded chain (the node reads the contracts, milestones and royalties in batches)
    embedded = json.loads(market.ledger("run", str(DEMO), "--json").stdout)
    for played in (out, embedded):
        for member in played["members"].values():
            member.pop("address")  # each run makes its accounts afresh
    assert out == embedded
    assert out["contracts"]["TC-1"] == {
        "received": "1024000.00",  # its milestone and the 2026-Q3 royalty, reported and paid
        "outstanding": "0.00",
        "milestones": [{"status": "paid", "paid": "1000000.00", "due": "1000000.00"}],
    }
    url = f"http://127.0.0.1:{market.port}"
    demo = market.ledger("demo", "--rpc", url)
    assert demo.returncode == 0, demo.stderr  # the demo's refused duplicate is part of the show
    assert demo.stdout.splitlines()[0] == f"mkj-ledger demo: a technology market's year on the chain at {url}"


def test_deploy_refuses_to_overwrite_a_record(market: Market) -> None:
    again = market.ledger("deploy")
    assert again.returncode == 1
    assert "--force" in again.stderr


def test_commands_without_a_deployment_say_what_to_do(ledger: Run) -> None:
    result = ledger("member", "list")
    assert result.returncode == 1
    assert "ledger deploy" in result.stderr or "ledger node start" in result.stderr


def test_royalty_reports_and_attestations_from_the_command_line(market: Market) -> None:
    ledger = market.ledger
    assert (
        ledger("contract", "register", "--file", str(_royalty_licence(market, "TC-R", buyer="baotou"))).returncode == 0
    )
    royalty = ("settle", "--ref", "ROY-1", "--contract", "TC-R", "--period", "2026Q2", "--amount", "30000.00")
    unreported = ledger(*royalty, "--date", "2026-07-02")
    assert unreported.returncode == 1 and unreported.stderr.strip() == (
        "error: no revenue is reported for period 2026Q2 of contract TC-R (none is reported yet: "
        "`ledger royalty report` first)"
    )
    reported = ledger("royalty", "report", "TC-R", "2026Q2", "--revenue", "1000000.00", "--date", "2026-07-01")
    assert reported.stdout.strip() == (
        "revenue reported; royalty of TC-R for 2026Q2: due 30,000.00, paid 0.00, outstanding 30,000.00 yuan"
    )
    misspelt = ledger("settle", "--ref", "ROY-0", "--contract", "TC-R", "--period", "2026-Q2", "--amount", "1.00")
    assert misspelt.stderr.strip().endswith(
        "no revenue is reported for period 2026-Q2 of contract TC-R (reported: 2026Q2)"
    )
    paid = json.loads(ledger(*royalty, "--date", "2026-07-02", "--json").stdout)
    assert {(a["member"], a["rule"], a["points"]) for a in paid["points"]} == {
        ("imu", "R3-LICENSOR", "300.00"),
        ("baotou", "R3-LICENSEE", "300.00"),
    }
    contract = json.loads(ledger("contract", "show", "TC-R", "--json").stdout)
    (payment,) = contract["payments"]
    assert (payment["ref"], payment["milestone"], payment["period"], payment["amount"]) == (
        "ROY-1", None, "2026Q2", "30000.00"
    )  # fmt: skip
    assert contract["royalties"] == [
        {"period": "2026Q2", "reported": "2026-07-01", "revenue": "1000000.00", "due": "30000.00", "paid": "30000.00"}
    ]
    table = ledger("contract", "show", "TC-R").stdout.splitlines()
    at = table.index("royalty 3% of the revenue reported for each period:")
    assert table[at + 3].split() == ["2026Q2", "2026-07-01", "1,000,000.00", "30,000.00", "30,000.00"]
    shown = json.loads(ledger("royalty", "show", "TC-R", "2026Q2", "--json").stdout)
    assert shown == {
        "contract": "TC-R",
        "period": "2026Q2",
        "due": "30000.00",
        "paid": "30000.00",
        "outstanding": "0.00",
    }
    twice = ledger("royalty", "report", "TC-R", "2026Q2", "--revenue", "1.00", "--date", "2026-07-01")
    assert twice.returncode == 1 and "is already reported" in twice.stderr
    startup = (
        "attest",
        "startup-revenue",
        "baotou",
        "--year",
        "2026",
        "--revenue",
        "250000.00",
        "--date",
        "2026-08-01",
    )
    attested = json.loads(ledger(*startup, "--json").stdout)
    assert attested["replayed"] is False and attested["points"] == [
        {"member": "baotou", "rule": "R11-SME", "points": "10000.00"}
    ]
    assert ledger(*startup).stdout.strip().endswith("was already attested with the same data: nothing changed")
    later = ledger("attest", "startup-revenue", "baotou", "--year", "2026", "--revenue", "1.00", "--date", "2026-08-03")
    assert "\n  no points issued: R11-SME pays an active enterprise once" in later.stdout
    ahead = ledger("attest", "startup-revenue", "baotou", "--year", "2027", "--revenue", "1.00", "--date", "2026-08-03")
    assert ahead.returncode == 1 and ahead.stderr.strip() == (
        "error: the revenue of 2027 cannot be attested on 2026-08-03: that year has not begun"
    )
    not_a_firm = ledger("attest", "startup-revenue", "imu", "--year", "2026", "--revenue", "250000.00")
    assert not_a_firm.returncode == 1 and "is not an enterprise" in not_a_firm.stderr
    talent = ledger("attest", "appointment", "imu", "--title", "industry_professor", "--date", "2026-08-02")
    assert talent.stdout.strip().endswith("imu earns 5,000.00 points (R6-TALENT)"), talent.stdout
    untitled = ledger("attest", "appointment", "imu")
    assert untitled.returncode == 2 and "needs --title: tech_vice_president or industry_professor" in untitled.stderr
    assert ledger("verify").returncode == 0


def test_publishing_the_policy_already_in_force_sends_nothing(market: Market) -> None:
    head = ChainSession.connect(f"http://127.0.0.1:{market.port}").head()
    again = market.ledger("policy", "publish", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["published"] is False
    assert ChainSession.connect(f"http://127.0.0.1:{market.port}").head() == head  # no transaction
    shown = json.loads(market.ledger("policy", "show", "--json").stdout)
    assert {rule: p["version"] for rule, p in shown.items()} == dict.fromkeys(shown, 1)


def test_publishing_a_policy_file_from_outside_the_repository(market: Market) -> None:
    """The chain it leaves no longer verifies: no test after it in this module verifies."""
    from ledger.domain.policy import bundled_policy_path

    text = bundled_policy_path().read_text(encoding="utf-8")
    broker = text.index('id = "R16-BROKER"')
    amended = text[:broker].replace('id = "mkj-2026"', 'id = "mkj-2027"').replace(
        'effective_from = "2026-01-15"', 'effective_from = "2027-01-01"'
    ) + text[broker:].replace("rate_bps = 50\n", "rate_bps = 75\n", 1)
    path = market.folder / "mkj-2027.toml"
    path.write_text(amended, encoding="utf-8")
    ledger = market.ledger
    assert ledger("policy", "diff", str(path)).stdout.strip() == "R16-BROKER: rate_bps is 50 on chain, 75 in the file"
    published = ledger("policy", "publish", str(path))
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith("published policy mkj-2027")
    assert "is not one of the repository's policy files" in published.stdout
    shown = json.loads(ledger("policy", "show", "--json").stdout)["R16-BROKER"]
    assert (shown["version"], shown["rate_bps"], shown["effective_from"]) == (2, 75, "2027-01-01")
    verify = ledger("verify")
    assert verify.returncode == 4 and "add the published file there" in verify.stdout
    for reading in (("report",), ("statement", "imu")):  # each names it, and exits as verify does
        unverified = ledger(*reading)
        assert unverified.returncode == 4 and "NOT VERIFIED" in unverified.stdout, reading
    # an auditor given the published file (an installed package's policy/ is not its to add to) verifies
    assert "or given as `ledger verify --policy" in published.stdout
    for reading in (("verify",), ("report",), ("statement", "imu")):
        given = ledger(*reading, "--policy", str(path))
        assert given.returncode == 0 and "NOT VERIFIED" not in given.stdout, (reading, given.stdout, given.stderr)
    tampered = market.folder / "mkj-2027-other.toml"
    tampered.write_text(amended.replace("rate_bps = 75\n", "rate_bps = 80\n"), encoding="utf-8")
    assert ledger("verify", "--policy", str(tampered)).returncode == 4  # another file proves nothing
    missing = ledger("verify", "--policy", str(market.folder / "nope.toml"))
    assert missing.returncode == 1 and "cannot read policy file" in missing.stderr


def test_a_payment_given_no_date_is_dated_today_so_running_it_again_is_a_replay(market: Market) -> None:
    _register(market, "TC-T", kind="transfer", buyer="steel", amount="100.00")
    command = ("settle", "--ref", "TODAY-1", "--contract", "TC-T", "--amount", "1.00", "--json")
    first = market.ledger(*command)
    assert first.returncode == 0, first.stderr
    again = market.ledger(*command)
    assert again.returncode == 0, again.stderr
    assert (json.loads(first.stdout)["replayed"], json.loads(again.stdout)["replayed"]) == (False, True)


def test_evidence_given_as_its_sha256_is_the_document_it_hashes(market: Market) -> None:
    """A payments file gives the receipt's SHA-256; `ledger settle --evidence` takes it as well as the
    document, so a payment imported from such a file and sent again by hand is a replay."""
    _register(market, "TC-EV", kind="transfer", buyer="steel", amount="100.00")
    receipt = market.folder / "receipt.pdf"
    receipt.write_bytes(b"%PDF-1.4 bank receipt")
    digest = hashlib.sha256(receipt.read_bytes()).hexdigest()
    command = ("settle", "--ref", "EV-1", "--contract", "TC-EV", "--amount", "1.00", "--date", "2026-03-01", "--json")
    first = market.ledger(*command, "--evidence", str(receipt))
    again = market.ledger(*command, "--evidence", "0x" + digest)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert (json.loads(first.stdout)["replayed"], json.loads(again.stdout)["replayed"]) == (False, True)


def test_registering_achieving_or_reporting_again_is_a_replay_and_a_change_is_named(market: Market) -> None:
    """The operator's other writes, and an enrolment, are as safe to run again as a payment: the same
    command is a replay (nothing changed, exit 0); one that says something else is refused with what it
    changes."""
    ledger = market.ledger
    path = _royalty_licence(market, "TC-AGAIN", buyer="steel")
    enrolled = ledger(*ENROL_IMU, "--json")  # as imu was enrolled when the market opened
    assert enrolled.returncode == 0 and json.loads(enrolled.stdout)["replayed"] is True, enrolled.stderr
    writes = [
        ("instrument", "register", "I-AGAIN", "--provider", "imu", "--value", "150000.00"),
        ("contract", "register", "--file", str(path)),
        ("milestone", "achieve", "TC-AGAIN", "0", "--date", "2026-03-01"),
        ("royalty", "report", "TC-AGAIN", "2026Q2", "--revenue", "1000.00", "--date", "2026-07-01"),
    ]
    for write in writes:
        first, again = (ledger(*write, "--json") for _ in range(2))
        assert first.returncode == again.returncode == 0, first.stderr + again.stderr
        assert (json.loads(first.stdout)["replayed"], json.loads(again.stdout)["replayed"]) == (False, True)
    # the one milestone of a contract may be left out, as in a payment: the same achievement
    unnamed = ledger("milestone", "achieve", "TC-AGAIN", "--date", "2026-03-01", "--json")
    assert unnamed.returncode == 0 and json.loads(unnamed.stdout)["replayed"] is True, unnamed.stderr

    _royalty_licence(market, "TC-AGAIN", buyer="steel", royalty_bps=301)
    changed = [
        ledger("instrument", "register", "I-AGAIN", "--provider", "imu", "--value", "150000.01"),
        ledger("contract", "register", "--file", str(path)),
        ledger("milestone", "achieve", "TC-AGAIN", "0", "--date", "2026-03-02"),
        ledger("royalty", "report", "TC-AGAIN", "2026Q2", "--revenue", "2000.00", "--date", "2026-07-01"),
    ]
    assert [(c.returncode, c.stderr.strip()) for c in changed] == [
        (
            1,
            "error: instrument I-AGAIN is already registered: "
            "original value 150,000.01 yuan here, 150,000.00 yuan recorded",
        ),
        (1, "error: contract TC-AGAIN is already registered: royalty rate 301 bps here, 300 bps recorded"),
        (
            1,
            "error: milestone 0 of contract TC-AGAIN is already recorded as achieved: "
            "date 2026-03-02 here, 2026-03-01 recorded",
        ),
        (
            1,
            "error: revenue for period 2026Q2 of contract TC-AGAIN is already reported: "
            "revenue 2,000.00 yuan here, 1,000.00 yuan recorded",
        ),
    ]
    shown = ledger("instrument", "show", "I-AGAIN")
    assert shown.stdout.startswith("instrument I-AGAIN: shared by imu (0x") and "150,000.00 yuan" in shown.stdout
    assert ledger("instrument", "list").stdout.splitlines()[-1].split() == ["I-AGAIN", "imu", "150,000.00"]
    listed = json.loads(ledger("instrument", "list", "--json").stdout)
    assert {"id": "I-AGAIN", "provider": "imu", "original_value": "150000.00"}.items() <= listed[-1].items()


def test_a_file_of_contracts_is_checked_whole_then_registered_and_run_again_is_a_replay(market: Market) -> None:
    """Contracts come in a list as well: any wrong one (an unknown party, an id twice, a terms document
    that is not there) stops the file before anything is sent; run again, the file registers nothing
    twice. A contract's `terms` names its document beside the file, whose SHA-256 goes on chain."""
    ledger = market.ledger
    folder = market.folder / "contracts"
    folder.mkdir()
    (folder / "l1-terms.txt").write_text("terms of TC-L1", encoding="utf-8")
    one = json.loads(_royalty_licence(market, "TC-L1", buyer="steel").read_text(encoding="utf-8"))
    contracts = [
        {**one, "terms": "l1-terms.txt"},
        {**one, "id": "TC-L2", "seller": "nobody"},
        {**one, "id": "TC-L1"},
        {**one, "id": "TC-L3", "terms": "missing.pdf"},
        {**one, "id": "TC-L4", "kind": "service", "instrument": 5},
        {**one, "id": "TC-L5", "kind": "service", "instrument": "NOPE"},
    ]
    path = folder / "many.json"
    path.write_text(json.dumps(contracts), encoding="utf-8")
    refused = ledger("contract", "register", "--file", str(path))
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[1:] == [
        f"  {path}[1].seller: unknown member 'nobody'",
        f"  {path}[2]: contract TC-L1 is also at [0]",
        f"  {path}[3].terms: 'missing.pdf' is neither a file in {folder}/ nor the SHA-256 of the terms document "
        "(64 hexadecimal digits)",
        f"  {path}[4].instrument: instrument must name an instrument",
        f"  {path}[5].instrument: there is no shared instrument NOPE",
    ]
    assert "5 of the 6 contracts" in refused.stderr and "so none was sent" in refused.stderr
    assert "there is no contract TC-L1" in ledger("contract", "show", "TC-L1").stderr

    contracts[1:] = [{**one, "id": "TC-L2", "seller": "steel", "buyer": "imu"}]
    path.write_text(json.dumps(contracts), encoding="utf-8")
    head = json.loads(ledger("node", "status", "--port", market.port, "--json").stdout)["block"]
    first, again = (ledger("contract", "register", "--file", str(path), "--json") for _ in range(2))
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    # both in one transaction (the node mines one block for each), and nothing sent the second time
    assert json.loads(ledger("node", "status", "--port", market.port, "--json").stdout)["block"] == head + 1
    assert json.loads(first.stdout) == {
        "contracts": [{"id": "TC-L1", "replayed": False}, {"id": "TC-L2", "replayed": False}],
        "registered": 2,
        "replayed": 0,
    }
    assert (json.loads(again.stdout)["registered"], json.loads(again.stdout)["replayed"]) == (0, 2)
    shown = json.loads(ledger("contract", "show", "TC-L1", "--json").stdout)
    assert shown["terms_sha256"] == hashlib.sha256(b"terms of TC-L1").hexdigest()
    assert json.loads(ledger("contract", "show", "TC-L2", "--json").stdout)["terms_sha256"] is None
    twice = ledger("contract", "register", "--file", str(path), "--terms", str(folder / "l1-terms.txt"))
    assert twice.returncode == 2 and "in a file of many, each contract names its own" in twice.stderr
    single = folder / "l1.json"
    single.write_text(json.dumps(contracts[0]), encoding="utf-8")
    both = ledger("contract", "register", "--file", str(single), "--terms", str(folder / "l1-terms.txt"))
    assert both.stderr == f"error: {single} gives its terms, and --terms gives them again: give them once\n"
    alone = ledger("contract", "register", "--file", str(single), "--json")
    assert alone.returncode == 0 and json.loads(alone.stdout)["replayed"] is True, alone.stderr
    # a contract registered with other terms is a problem of the file in its place among the others
    path.write_text(
        json.dumps([{**contracts[1], "signed": "2026-02-02"}, {**one, "id": "TC-L9", "buyer": "x"}]), encoding="utf-8"
    )
    other = ledger("contract", "register", "--file", str(path))
    assert other.returncode == 1 and other.stderr.splitlines()[1:] == [
        f"  {path}[0]: contract TC-L2 is registered with other terms: signing date 2026-02-02 here, "
        "2026-02-01 recorded",
        f"  {path}[1].buyer: unknown member 'x'",
    ]


def test_a_contract_another_run_registers_between_the_check_and_the_send_is_a_replay(
    market: Market, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two operators registering the same file at once: the contract one registered after the other
    checked it comes back as already registered, with the same terms, and the file goes on."""
    from ledger import cli
    from ledger.services import rerun

    for name, value in workspace_env(market.folder).items():
        monkeypatch.setenv(name, value)
    one = json.loads(_royalty_licence(market, "TC-L6", buyer="steel").read_text(encoding="utf-8"))
    path = market.folder / "contracts" / "race.json"
    path.write_text(json.dumps([{**one, "id": "TC-L2", "seller": "steel", "buyer": "imu"}, one]), encoding="utf-8")
    real = rerun.registrations_differences
    asked: list[list[str]] = []

    def unseen_at_first(ws: Workspace, contracts: list[Any]) -> dict[str, list[str] | None]:
        asked.append([contract.id for contract in contracts])
        found = real(ws, contracts)
        return found if len(asked) > 1 else dict.fromkeys(found)  # the check saw no TC-L2 yet

    monkeypatch.setattr(rerun, "registrations_differences", unseen_at_first)
    assert cli.main(["contract", "register", "--file", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["contracts"] == [
        {"id": "TC-L2", "replayed": True},
        {"id": "TC-L6", "replayed": False},
    ]
    assert asked == [["TC-L2", "TC-L6"], ["TC-L2"]]  # the file checked at once; TC-L2 again once refused


def test_a_file_of_contracts_refused_half_way_says_what_it_registered_and_runs_again(
    market: Market, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refusal after the check (a party suspended meanwhile) stops the file where it is: the contracts
    before it stay registered, the warning names them, and the same command run again passes over them."""
    from ledger import cli
    from ledger.errors import ContractError
    from ledger.services.client import LedgerClient

    for name, value in workspace_env(market.folder).items():
        monkeypatch.setenv(name, value)
    one = json.loads(_royalty_licence(market, "TC-L7", buyer="steel").read_text(encoding="utf-8"))
    path = market.folder / "contracts" / "halfway.json"
    path.write_text(json.dumps([one, {**one, "id": "TC-L8"}]), encoding="utf-8")
    real = LedgerClient.register_contract

    def suspended_meanwhile(client: LedgerClient, signer: Any, contract: Any) -> Any:
        if contract.id == "TC-L8":
            raise ContractError("steel is suspended", name="PartySuspended", arguments={})
        return real(client, signer, contract)

    def refused_together(client: LedgerClient, signer: Any, contracts: list[Any]) -> Any:
        raise ContractError("steel is suspended", name="PartySuspended", arguments={})

    with monkeypatch.context() as patched:
        # the two go together, refused whole; then one by one, so that the refusal names its contract
        patched.setattr(LedgerClient, "register_contracts", refused_together)
        patched.setattr(LedgerClient, "register_contract", suspended_meanwhile)
        assert cli.main(["contract", "register", "--file", str(path)]) == 1
    assert capsys.readouterr().err == (
        "warning: registered before the refusal: TC-L7; run again, the command passes over them\n"
        "error: steel is suspended\n"
    )
    assert cli.main(["contract", "register", "--file", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["contracts"] == [
        {"id": "TC-L7", "replayed": True},
        {"id": "TC-L8", "replayed": False},
    ]


def _interrupted_redemption(
    market: Market, monkeypatch: pytest.MonkeyPatch, *, dies_in: str, points: int
) -> tuple[Workspace, Path]:
    """A `ledger redeem` run that signs and journals its redemption of imu's points, then dies in
    `dies_in` (`submit`: before the bytes reach the node; `await_mined`: before the receipt)."""
    monkeypatch.setenv("LEDGER_PASSPHRASE", PASSPHRASE)
    ws = Workspace(Config(home=market.folder / "home"))
    signer = ws.signer("imu")
    journal = market.folder / "home" / "redemptions" / f"{signer.address.lower()}.json"

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(ChainSession, dies_in, killed)
        with pytest.raises(KeyboardInterrupt):
            redeem_once(ws.client, signer, points=Centipoints(points), purpose="booking", journal=journal)
    assert journal.exists()
    return ws, journal


def test_a_redemption_the_node_refuses_outright_leaves_nothing_to_finish(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node that will not take the signed redemption into its pool never had it: the journal is
    cleared with the refusal, so the next run redeems anew rather than waiting on a transaction that
    cannot come."""
    monkeypatch.setenv("LEDGER_PASSPHRASE", PASSPHRASE)
    ws = Workspace(Config(home=market.folder / "home"))
    signer = ws.signer("imu")
    journal = market.folder / "home" / "redemptions" / f"{signer.address.lower()}.json"
    before = ws.client.balance(signer.address)

    def refused(*args: object, **kwargs: object) -> None:
        raise NodeRefused("the node refused the transaction: txpool is full")

    with monkeypatch.context() as patched:
        patched.setattr(ChainSession, "submit", refused)
        with pytest.raises(NodeRefused):
            redeem_once(ws.client, signer, points=Centipoints(100), purpose="booking", journal=journal)
    assert not journal.exists() and ws.client.balance(signer.address) == before
    again = market.ledger("redeem", "imu", "1.00", "--purpose", "booking", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["resumed"] is False and ws.client.balance(signer.address) == before - 100


@pytest.mark.parametrize("dies_in", ["await_mined", "submit"])
def test_a_redemption_run_again_after_an_interruption_is_finished_not_repeated(
    market: Market, monkeypatch: pytest.MonkeyPatch, dies_in: str
) -> None:
    """A redemption has no reference by which the chain could tell a resend from a second one: the same
    command run again finishes the redemption the interrupted run signed instead of burning twice."""
    ws, journal = _interrupted_redemption(market, monkeypatch, dies_in=dies_in, points=100)
    imu = ws.resolve("imu")
    before = ws.client.balance(imu) + (100 if dies_in == "await_mined" else 0)  # mined, if it was sent
    assert before >= 200, "the market's earlier tests leave imu with points"
    other = market.ledger("redeem", "imu", "2.00", "--purpose", "booking")
    assert other.returncode == 1
    assert "an earlier redemption of 1.00 points for 'booking' was interrupted" in other.stderr
    again = market.ledger("redeem", "imu", "1.00", "--purpose", "booking", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["resumed"] is True
    assert ws.client.balance(imu) == before - 100
    assert not journal.exists()
    fresh = market.ledger("redeem", "imu", "1.00", "--purpose", "booking", "--json")  # finished: a new one
    assert json.loads(fresh.stdout)["resumed"] is False and ws.client.balance(imu) == before - 200


def test_verify_finds_contract_code_other_than_this_versions_sources_compile_to(market: Market) -> None:
    """An institution checks the code it trusts, not only the points: code at a recorded address that
    the sources do not compile to (one byte more, set by the node's cheat call) is a discrepancy."""
    from ledger.node import _rpc

    url = f"http://127.0.0.1:{market.port}"
    points = json.loads((market.folder / "home" / "deployment.json").read_text(encoding="utf-8"))["addresses"]["Points"]
    code = str(_rpc(url, "eth_getCode", [points, "latest"]))
    _rpc(url, "anvil_setCode", [points, code + "00"])
    try:
        tampered = market.ledger("verify", "--json")
    finally:
        _rpc(url, "anvil_setCode", [points, code])
    assert tampered.returncode == 4, tampered.stderr
    assert json.loads(tampered.stdout)["discrepancies"][0] == {
        "check": "contract-code",
        "message": f"the code of Points at {points} is not what this version's sources compile to, though the "
        "deployment record says this version built it",
    }
    restored = json.loads(market.ledger("verify", "--json").stdout)["discrepancies"]
    assert all(d["check"] != "contract-code" for d in restored)  # (an earlier test's amendment is its own)

"""`ledger settle import` against anvil: killed mid-way and re-run, every row is recorded exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.chain.logs import event_topic
from ledger.config import Config
from ledger.domain.dates import parse_date
from ledger.domain.money import Fen, format_points
from ledger.domain.types import ContractKind, PaymentPlan
from ledger.services.client import ContractInput, MilestoneInput
from ledger.services.workspace import Workspace
from tests.cli.conftest import CERTIFY, ENROL_IMU, ENROL_STEEL, PASSPHRASE, Run, market_on_node, workspace_env
from tests.nodes import needs_anvil

pytestmark = needs_anvil
CONTRACTS = 20
HEADER = "ref,contract,milestone,period,amount,date,evidence,kind\n"


@dataclass
class Desk:
    ledger: Run
    folder: Path
    port: str


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("desk")
    with market_on_node(folder, *CERTIFY, ENROL_IMU, (*ENROL_STEEL, "--in-region")) as (ledger, port):
        os.environ["LEDGER_PASSPHRASE"] = PASSPHRASE
        ws = Workspace(Config(home=folder / "home"))
        operator = ws.signer("operator")
        for i in range(CONTRACTS):
            ws.client.register_contract(
                operator,
                ContractInput(
                    id=f"TC-{i}",
                    kind=ContractKind.LICENSE,
                    plan=PaymentPlan.LUMP_SUM,
                    seller=ws.resolve("imu"),
                    buyer=ws.resolve("steel"),
                    signed=parse_date("2026-02-01"),
                    milestones=(MilestoneInput("all", Fen(10**12), parse_date("2026-12-31")),),
                ),
            )
        yield Desk(ledger, folder, port)


def _bank_file(desk: Desk, name: str, rows: int) -> Path:
    path = desk.folder / f"{name}.csv"
    lines = [f"{name}-{i:05d},TC-{i % CONTRACTS},,,{1000 + i % 97}.{i % 100:02d},2026-03-01,," for i in range(rows)]
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _total_fen(path: Path) -> int:
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        units, cents = line.split(",")[4].split(".")
        total += int(units) * 100 + int(cents)
    return total


def _paid_on_chain(desk: Desk) -> int:
    ws = Workspace(Config(home=desk.folder / "home"))
    return sum(ws.client.milestone(f"TC-{i}", 0).paid for i in range(CONTRACTS))


def test_import_killed_mid_way_and_run_again_records_every_row_exactly_once(desk: Desk) -> None:
    path = _bank_file(desk, "kill", 2_000)
    before = _paid_on_chain(desk)
    env = workspace_env(desk.folder)
    command = [sys.executable, "-m", "ledger.cli", "settle", "import", str(path), "--batch-size", "2"]
    process = subprocess.Popen(command, env=env, cwd=desk.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journals = desk.folder / "home" / "imports"
    deadline = time.monotonic() + 60
    sent = 0
    while time.monotonic() < deadline and process.poll() is None:
        files = list(journals.glob("kill.csv.*.journal")) if journals.exists() else []
        sent = sum(line.count('"event": "sent"') for f in files for line in f.read_text().splitlines())
        if sent >= 20:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the import finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < _paid_on_chain(desk) - before < _total_fen(path), "the kill should leave the import part-done"

    resumed = desk.ledger("settle", "import", str(path), "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["recorded"] + summary["replayed"] == 2_000
    assert summary["replayed"] > 0 and summary["recorded"] > 0
    # the batches in flight when it was killed are found before the rows are checked: none is sent again
    assert summary["replayed_on_arrival"] == 0
    assert _paid_on_chain(desk) - before == _total_fen(path)

    again = json.loads(desk.ledger("settle", "import", str(path), "--json").stdout)
    assert (again["recorded"], again["replayed"], again["batches"]) == (0, 2_000, 0)
    assert _paid_on_chain(desk) - before == _total_fen(path)
    verify = desk.ledger("verify", "--json")
    assert json.loads(verify.stdout)["ok"] is True


def test_bad_file_lists_every_bad_line_and_sends_nothing(desk: Desk) -> None:
    path = desk.folder / "bad.csv"
    path.write_text(
        HEADER + "G-1,TC-0,,,1.00,2026-03-01,,\nB-1,TC-0,,,1.001,2026-03-01,,\nB-2,NOPE,,,1.00,2026-03-01,,\n"
        "B-3,TC-0,,,1.00,2099-01-01,,\nG-1,TC-1,,,1.00,2026-03-01,,\n",
        encoding="utf-8",
    )
    before = _paid_on_chain(desk)
    result = desk.ledger("settle", "import", str(path))
    assert result.returncode == 1
    assert "4 bad rows, nothing was sent" in result.stderr
    for line in ("line 3:", "line 4:", "line 5:", "line 6:"):
        assert line in result.stderr
    assert "line 2:" not in result.stderr
    assert _paid_on_chain(desk) == before
    skipped = desk.ledger("settle", "import", str(path), "--skip-invalid", "--json")
    assert skipped.returncode == 3
    assert json.loads(skipped.stdout)["recorded"] == 1
    assert (desk.folder / "bad.csv.rejected.csv").read_text(encoding="utf-8").count("\n") == 5
    nowhere = desk.ledger("settle", "import", str(path), "--skip-invalid", "--reject-file", "/no/such/dir/r.csv")
    assert nowhere.returncode == 1 and "cannot write the rejected rows file /no/such/dir/r.csv" in nowhere.stderr
    one = desk.folder / "one.csv"
    one.write_text(HEADER + "O-1,TC-2,,,1.00,2026-03-01,,\n", encoding="utf-8")
    assert desk.ledger("settle", "import", str(one)).stdout.startswith(
        "1 row: 1 recorded, 0 already on chain (replays), 0 rejected; 1 batch in "
    )


def test_check_reviews_a_file_against_the_chain_and_sends_nothing(desk: Desk) -> None:
    path = desk.folder / "review.csv"
    # G-1 on TC-0 was recorded with these very data by the import above: a replay
    path.write_text(
        HEADER + "R-1,TC-3,,,1.00,2026-03-01,,\nR-2,TC-3,,,1.001,2026-03-01,,\nG-1,TC-0,,,1.00,2026-03-01,,\n",
        encoding="utf-8",
    )
    before = _paid_on_chain(desk)
    checked = desk.ledger("settle", "import", str(path), "--check")
    assert checked.returncode == 3, checked.stderr
    assert checked.stdout.splitlines() == [
        "3 rows: 1 to record, 1 already on chain (replays), 1 bad; nothing was sent",
        "  line 3: amount '1.001' has more than two decimal places",
    ]
    as_json = json.loads(desk.ledger("settle", "import", str(path), "--check", "--json").stdout)
    assert (as_json["to_record"], as_json["replayed"], as_json["sent"]) == (1, 1, 0)
    assert [p["line"] for p in as_json["rejected"]] == [3]
    assert _paid_on_chain(desk) == before
    single = desk.ledger("settle", "--ref", "R-9", "--contract", "TC-3", "--amount", "1.00", "--check")
    assert single.returncode == 2 and "--check is for `ledger settle import` only" in single.stderr
    assert _paid_on_chain(desk) == before
    # what a file would earn, recomputed by the verifier's engine, is what the contracts then issue
    landing = desk.folder / "landing.csv"
    landing.write_text(
        HEADER + "L-1,TC-12,,,1999000.00,2026-03-01,,\nL-2,TC-12,,,1000.00,2026-03-02,,\n", encoding="utf-8"
    )
    received = int(json.loads(desk.ledger("contract", "show", "TC-12", "--json").stdout)["received"].replace(".", ""))
    forecast = json.loads(desk.ledger("settle", "import", str(landing), "--check", "--json").stdout)
    assert forecast["to_record"] == 2 and forecast["sent"] == 0
    # 20% of everything received once the cumulative 2,000,000.00 is reached (R11-LANDING, SPEC §2)
    assert forecast["points_by_rule"] == {"R11-LANDING": format_points((received + 200_000_000) * 2000 // 10_000)}
    checked_text = desk.ledger("settle", "import", str(landing), "--check").stdout
    assert "points the rows to record would issue, by rule" in checked_text
    imported = json.loads(desk.ledger("settle", "import", str(landing), "--json").stdout)
    assert imported["recorded"] == 2 and imported["points_by_rule"] == forecast["points_by_rule"]


def test_a_second_import_signed_by_the_same_key_is_refused_while_one_runs(desk: Desk) -> None:
    """Two imports signed by one key would take each other's nonces: while one runs (its lock held
    here), another is refused in a sentence and sends nothing."""
    import fcntl

    path = _bank_file(desk, "second", 3)
    before = _paid_on_chain(desk)
    names = json.loads((desk.folder / "home" / "names.json").read_text(encoding="utf-8"))
    lock_path = desk.folder / "home" / "imports" / f"{names['operator'].lower()}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        refused = desk.ledger("settle", "import", str(path))
    assert refused.returncode == 1 and "another import signed by" in refused.stderr
    assert _paid_on_chain(desk) == before
    assert desk.ledger("settle", "import", str(path)).returncode == 0  # once the first has ended
    assert _paid_on_chain(desk) - before == _total_fen(path)


def test_the_summary_names_suspended_parties_whose_points_are_withheld(desk: Desk) -> None:
    assert desk.ledger("member", "suspend", "steel").returncode == 0
    path = desk.folder / "suspended.csv"
    path.write_text(HEADER + "SUS-1,TC-3,,,1.00,2026-03-01,,\nSUS-2,TC-4,,,1.00,2026-03-01,,\n", encoding="utf-8")
    result = desk.ledger("settle", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        "suspended parties, whose points from these rows are withheld:",
        "  steel: 2 rows",
    ]
    path.write_text(HEADER + "SUS-3,TC-3,,,1.00,2026-03-01,,\n", encoding="utf-8")
    assert json.loads(desk.ledger("settle", "import", str(path), "--json").stdout)["suspended_parties"] == {"steel": 1}
    assert desk.ledger("member", "reinstate", "steel").returncode == 0


def test_a_row_the_local_index_lost_is_sent_answered_as_a_replay_and_the_summary_says_so(desk: Desk) -> None:
    """The history an import checks comes from the local log index. A row recorded on chain that the
    index does not show (as after a node lost the block that recorded it) is sent again; the ledger
    answers that it is already recorded: counted once, and the summary says so in a sentence."""
    path = _bank_file(desk, "lost", 3)
    before = _paid_on_chain(desk)
    assert desk.ledger("settle", "import", str(path)).returncode == 0
    assert desk.ledger("verify").returncode == 0  # the index now holds the rows
    (index,) = (desk.folder / "data" / "index").glob("*.sqlite")
    db = sqlite3.connect(index)
    with db:
        forgotten = db.execute(
            "DELETE FROM logs WHERE substr(topics, 1, 32) = ? AND (instr(topics, ?) > 0 OR instr(data, ?) > 0)",
            (bytes.fromhex(event_topic("SettlementRecorded")[2:]), b"lost-00000\0", b"lost-00000\0"),
        ).rowcount
    db.close()
    assert forgotten == 1

    again = desk.ledger("settle", "import", str(path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("3 rows: 0 recorded, 3 already on chain (replays), 0 rejected; 1 batch in ")
    assert again.stdout.splitlines()[1] == (
        "1 row sent as new came back as already recorded: another import recorded them meanwhile, or the node "
        "lost the blocks that recorded them (`ledger verify` tells which)"
    )
    assert _paid_on_chain(desk) - before == _total_fen(path)
    index.unlink()  # a cache: read again from the chain, it holds every row
    assert json.loads(desk.ledger("verify", "--json").stdout)["ok"] is True


def test_a_row_that_conflicts_with_a_recorded_payment_is_told_what_differs(desk: Desk) -> None:
    """A row whose reference is recorded with other data is refused with what it changes; a row that
    names the only milestone of its contract is the payment recorded without naming it."""
    first = desk.ledger("settle", "--ref", "CONF-1", "--contract", "TC-5", "--amount", "5.00", "--date", "2026-03-01")
    assert first.returncode == 0, first.stderr
    path = desk.folder / "conflict.csv"
    path.write_text(
        HEADER + "CONF-1,TC-5,0,,5.00,2026-03-01,,\nCONF-1,TC-5,,,5.00,2026-03-02,,equity\n", encoding="utf-8"
    )
    refused = desk.ledger("settle", "import", str(path))
    assert refused.returncode == 1  # line 2, the recorded payment itself, is no problem
    assert refused.stderr.splitlines()[1:] == ["  line 3: reference CONF-1 already appears on line 2"]
    path.write_text(HEADER + "CONF-1,TC-5,,,5.00,2026-03-02,,equity\n", encoding="utf-8")
    refused = desk.ledger("settle", "import", str(path))
    assert refused.stderr.splitlines()[1:] == [
        "  line 2: payment reference CONF-1 was already recorded with different data: kind equity here, cash "
        "recorded; date 2026-03-02 here, 2026-03-01 recorded",
    ]
    path.write_text(HEADER + "CONF-1,TC-5,0,,5.00,2026-03-01,,\n", encoding="utf-8")
    replayed = json.loads(desk.ledger("settle", "import", str(path), "--json").stdout)
    assert (replayed["recorded"], replayed["replayed"]) == (0, 1)

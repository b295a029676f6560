"""Input files that are JSON (or TOML) but not what Python's parsers should take as is."""

from __future__ import annotations

import gc
import json
import sys
import threading
from pathlib import Path

import py_ecc  # noqa: F401  (imported by eth_account in every ledger process: it sets the limit below)
import pytest

from ledger.domain.policy import load_policy
from ledger.domain.scenario import load_scenario
from ledger.errors import ConfigError, InputError, PolicyFileError, ScenarioError
from ledger.files import JsonProblem, parse_json, read_json_file
from ledger.keys import keystore_address, load_keystore
from ledger.services.payment_rows import read_rows

DEMO = Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"amount": NaN}', "not valid JSON: NaN is not a JSON number"),
        ("[1, -Infinity]", "not valid JSON: -Infinity is not a JSON number"),
        (DEEP, "nested too deeply to read"),
        ("{", "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    ],
)
def test_json_outside_the_standard_is_a_sentence(text: str, says: str) -> None:
    with pytest.raises(JsonProblem, match=f"^{says}"):
        parse_json(text)


def test_every_json_input_file_refuses_deep_nesting_with_a_sentence(tmp_path: Path) -> None:
    """Under py_ecc's recursion limit of 100,000, json's C parser would overflow the stack and crash."""
    assert sys.getrecursionlimit() >= 100_000
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP, encoding="utf-8")
    with pytest.raises(ScenarioError, match="the file is nested too deeply"):
        load_scenario(deep)
    with pytest.raises(InputError, match="deep.json is nested too deeply"):
        read_rows(deep)
    with pytest.raises(InputError, match="the contract file .*deep.json is nested too deeply"):
        read_json_file(deep, "contract")
    with pytest.raises(ConfigError, match="is not a readable keystore file"):
        load_keystore(deep, "passphrase")
    with pytest.raises(ConfigError, match="is not a readable keystore file"):
        keystore_address(deep)
    policy = tmp_path / "deep.toml"
    policy.write_text("rules = " + DEEP, encoding="utf-8")
    with pytest.raises(PolicyFileError, match="nested too deeply"):
        load_policy(policy)
    assert sys.getrecursionlimit() >= 100_000  # given back after each parse


def test_a_key_given_twice_in_a_persons_file_is_refused_not_decided_by_the_parser(tmp_path: Path) -> None:
    """Python keeps the last of two values for one key: a payment naming two references would be
    recorded under whichever came last. An import or contract file is refused instead. (A scenario
    file is read as Python reads it: its format is a stable interface, and the runner plays it.)"""
    payment = '{"ref": "A", "contract": "T1", "amount": "1.00", "date": "2026-03-01", "ref": "B"}'
    assert parse_json(payment)["ref"] == "B"  # a node's reply is read as Python reads it
    with pytest.raises(JsonProblem, match="^ambiguous: an object gives the key 'ref' twice$"):
        parse_json(payment, unique_keys=True)
    bank = tmp_path / "bank.json"
    bank.write_text(f"[{payment}]", encoding="utf-8")
    with pytest.raises(InputError, match="bank.json is ambiguous: an object gives the key 'ref' twice"):
        read_rows(bank)
    with pytest.raises(InputError, match="the contract file .*bank.json is ambiguous"):
        read_json_file(bank, "contract")


def test_no_finalizer_runs_deep_inside_the_parser() -> None:
    """A collection started while the parser is a thousand calls deep would run other objects'
    finalizers with no room left under the lowered limit (they fail, and a socket stays open)."""
    limits: list[int] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            limits.append(sys.getrecursionlimit())

    thresholds = gc.get_threshold()
    gc.disable()
    gc.collect()  # the young generation starts empty
    try:
        for _ in range(10):
            Cycle()  # garbage only a collection finds
        gc.set_threshold(200)  # the next collection comes a couple of hundred lists into the parser
        gc.enable()
        with pytest.raises(JsonProblem, match="nested too deeply"):
            parse_json(DEEP)
    finally:
        gc.set_threshold(*thresholds)
        gc.enable()
    gc.collect()
    assert limits == [sys.getrecursionlimit()] * 10


def test_threads_parsing_at_once_give_back_the_limit_and_the_collector() -> None:
    """The recursion limit and the collector belong to the process: a thread restoring the limit it
    found, after another thread lowered it, would leave the process a thousand frames deep at most."""
    limit = sys.getrecursionlimit()
    text = json.dumps([{"n": i, "deep": [[[i]]]} for i in range(20_000)])

    def parse() -> None:
        for _ in range(6):
            parse_json(text)

    threads = [threading.Thread(target=parse) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sys.getrecursionlimit() == limit and gc.isenabled()


def test_a_byte_order_mark_before_json_is_read_as_utf8(tmp_path: Path) -> None:
    """Windows editors may save UTF-8 with a byte-order mark; the files read the same without it."""
    marked = tmp_path / "demo.json"
    marked.write_bytes(b"\xef\xbb\xbf" + DEMO.read_bytes())
    assert load_scenario(marked).events == load_scenario(DEMO).events
    assert read_json_file(marked, "contract") == read_json_file(DEMO, "contract")


def test_a_scenario_amount_written_as_a_json_number_is_read_as_its_text(tmp_path: Path) -> None:
    """2500000.00 unquoted is the amount "2500000.00", never a float; 1e30 and 12.345 stay refused."""
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    quoted = json.dumps(data, ensure_ascii=False)
    amounts = [e["amount"] for e in data["events"] if "amount" in e]
    unquoted = quoted
    for amount in set(amounts):
        unquoted = unquoted.replace(f'"amount": "{amount}"', f'"amount": {amount}')
    assert unquoted != quoted
    path = tmp_path / "numbers.json"
    path.write_text(unquoted, encoding="utf-8")
    assert load_scenario(path).events == load_scenario(DEMO).events
    for bad, says in (("1e30", "is not a decimal amount"), ("12.345", "has more than two decimal places")):
        path.write_text(unquoted.replace(f'"amount": {amounts[0]}', f'"amount": {bad}', 1), encoding="utf-8")
        with pytest.raises(ScenarioError, match=says):
            load_scenario(path)

"""`ledger COMMAND --help` explains every argument it lists."""

from __future__ import annotations

import argparse
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from ledger.cli import build_parser, main
from ledger.services.payment_rows import read_rows


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


def test_every_argument_of_every_command_has_help() -> None:
    commands = _commands(build_parser())
    assert {"run", "demo", "settle", "statement", "terms", "ca"} <= set(commands)
    missing = [
        f"ledger {name} {action.dest}"
        for name, command in commands.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction)
        and not action.help
        # a closed list of choices is its own help
        and not (action.choices and not action.option_strings)
    ]
    assert missing == []


def test_settle_help_describes_the_payments_file_the_import_reads(tmp_path: Path) -> None:
    text = _commands(build_parser())["settle"].format_help()
    found = re.search(r"^  columns +(\S+)$", text, re.MULTILINE)
    assert found is not None
    header = found.group(1).split(",")
    assert [c for c in header if not re.search(rf"^  {c} +\S", text, re.MULTILINE)] == []  # each one explained
    example = {
        "ref": "BANK-0001",
        "contract": "TC-1",
        "milestone": "0",
        "period": "",
        "amount": "1000000.00",
        "date": "2026-05-02",
        "evidence": "ab" * 32,
        "kind": "equity",
    }
    path = tmp_path / "bank.csv"
    path.write_text(",".join(header) + "\n" + ",".join(example[c] for c in header) + "\n", encoding="utf-8")
    rows, problems = read_rows(path)  # a column the import does not know, or a required one missing, raises
    assert problems == []
    assert [(r.settlement.ref, r.settlement.milestone, r.settlement.amount) for r in rows] == [
        ("BANK-0001", 0, 100_000_000)
    ]


def test_version_names_the_package_and_the_contracts_it_deploys(capsys: pytest.CaptureFixture[str]) -> None:
    from ledger.chain.artifacts import load_document

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"ledger {version('mkj-ledger')} (contracts: solc 0.8.")
    assert load_document()["sources_hash"][:16] in printed


def test_the_cli_exits_with_the_scenario_code_for_a_discrepancy() -> None:
    # `ledger verify`, `statement`, `report` and `terms open` exit with the code a scenario whose
    # verification fails exits with (SPEC §7), so that a script tells a discrepancy apart from an error
    from ledger import cli
    from ledger.services import runner

    assert cli.EXIT_DISCREPANCY == runner.EXIT_DISCREPANCY
    assert len({cli.EXIT_ERROR, cli.EXIT_USAGE, cli.EXIT_NOT_RUNNING, cli.EXIT_DISCREPANCY}) == 4


#: Commands the sweep below leaves out: they start a node or play a whole scenario, and have tests of their own.
STARTS_SOMETHING = {("node", "start"), ("demo", None)}


def _sweep(parser: argparse.ArgumentParser, placeholder: str) -> list[list[str]]:
    """For each command and each of its actions, the command line with none, some or all of its other
    positional arguments given (each as `placeholder`) and no option: what a person types half-way."""
    lines = []
    for name, command in _commands(parser).items():
        positionals = [a for a in command._actions if not a.option_strings and a.dest != "help"]
        first = positionals[0] if positionals and positionals[0].choices else None
        for choice in list(first.choices or []) if first is not None else [None]:
            if (name, choice) in STARTS_SOMETHING:
                continue
            head = [name] + ([choice] if choice is not None else [])
            rest = len(positionals) - (first is not None)
            lines += [head + [placeholder] * n for n in range(rest + 1)]
    # `settle` takes its one action, `import`, as free text beside its options for a single payment
    return lines + [["settle", "import"], ["settle", "import", placeholder]]


def test_no_command_half_typed_ends_in_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every action of every command, with its positional arguments left out one by one and no option,
    in a workspace with nothing in it: a usage error or a sentence, never an exception."""
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEDGER_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("LEDGER_PASSPHRASE", raising=False)
    monkeypatch.chdir(tmp_path)
    placeholder = tmp_path / "x.json"  # a file, of JSON: the first thing several commands read
    placeholder.write_text("{}", encoding="utf-8")
    lines = _sweep(build_parser(), str(placeholder))
    assert ["terms", "open", str(placeholder)] in lines and ["settle", "import"] in lines
    answers = {}
    for line in lines:
        try:
            code = main([*line, "--rpc", "http://127.0.0.1:9"])  # a port nothing answers on
        except SystemExit as exit_:
            code = exit_.code
        answers[" ".join(line)] = code
        err = capsys.readouterr().err
        assert err.count("\n") <= 1, (line, err)  # one sentence at most
    assert all(code in (0, 1, 2, 3) for code in answers.values()), answers


def test_an_option_for_some_actions_names_only_actions_of_its_command() -> None:
    """An option whose help begins "register: ..." is for that action alone (the parser refuses it with
    any other): every such name must be an action of its command, or the option could never be given."""
    scoped = {}
    for name, command in _commands(build_parser()).items():
        positionals = [a for a in command._actions if not a.option_strings]
        actions = set(positionals[0].choices or []) if positionals else set()
        if name == "settle":
            actions = {"import"}  # its action is free text: `import`, or none for one payment
        for option, named in getattr(command, "scoped", []):
            assert set(named) <= actions, (name, option.option_strings, named)
            scoped[f"{name} {(option.option_strings or [option.dest])[-1]}"] = named
    assert scoped["instrument --provider"] == ["register"]
    assert scoped["terms --out"] == ["seal", "open"]
    assert scoped["ca --days"] == ["init", "issue"]
    assert scoped["settle --skip-invalid"] == ["import"]
    assert scoped["member name"] == ["enrol", "suspend", "reinstate", "show"]  # an argument, as an option
    assert len(scoped) >= 35


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("instrument list --provider imu", "--provider is for `ledger instrument register` only"),
        ("contract list --file c.json", "--file is for `ledger contract register` only"),
        ("contract show TC-1 --overdue", "--overdue is for `ledger contract list` only"),
        ("member suspend imu --uscc 91110000802100433B", "--uscc is for `ledger member enrol` only"),
        ("attest appointment imu --year 2026", "--year is for `ledger attest startup-revenue` only"),
        ("royalty show TC-1 2026Q2 --revenue 1.00", "--revenue is for `ledger royalty report` only"),
        ("terms open x.json --contract TC-1", "--contract is for `ledger terms seal` only"),
        ("ca revoke imu --days 3", "--days is for `ledger ca init` or `ledger ca issue` only"),
        ("settle --ref R --check", "--check is for `ledger settle import` only"),
        ("settle import bank.csv --ref R --date 2026-01-01", "--ref, --date are for one payment; each row of a"),
        ("settle import bank.csv --equity", "--equity is for one payment; each row of a payments file gives its own"),
        ("member list imu", "`ledger member list` takes no name ('imu' is left over)"),
        ("contract register TC-1 --file c.json", "`ledger contract register` takes no id ('TC-1' is left over)"),
        ("policy show mkj-2027.toml", "`ledger policy show` takes no file ('mkj-2027.toml' is left over)"),
        ("statement imu --output=", "--output is empty: give it a value, or leave it out"),  # else the folder "."
        ("verify --policy=", "--policy is empty: give it a value, or leave it out"),
        ("member list --rpc=", "--rpc is empty: give it a value, or leave it out"),
        ("redeem imu 1.00 --purpose=", "--purpose is empty: give it a value (see"),  # it cannot be left out
    ],
)
def test_an_option_given_to_an_action_it_is_not_for_is_a_usage_error(
    line: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ledger instrument list --provider imu` would list every instrument, as if filtered, and `ledger
    member list imu` every member: refused, before the workspace is opened or anything is read."""
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path / "home"))  # empty: the refusal comes first
    with pytest.raises(SystemExit) as exit_:
        main(line.split())
    assert exit_.value.code == 2
    command = line.split()[0]
    err = capsys.readouterr().err
    assert err.startswith(f"ledger {command}: {message}")
    assert err.endswith(f"(see `ledger {command} --help`)\n") and err.count("\n") == 1


@pytest.mark.parametrize("command", ["run", "demo"])
def test_run_and_demo_say_which_options_do_nothing_there(command: str) -> None:
    """Every command takes the common options (--rpc, --keystore, ...); a run plays on a chain of its own,
    with accounts of its own, and keeps no index, and its help says so rather than describe a workspace's."""
    helps = {o.option_strings[-1]: o.help for o in _commands(build_parser())[command]._actions if o.option_strings}
    assert helps["--rpc"] == "JSON-RPC URL of a chain to play on (default: an embedded chain of its own)"
    unused = "not used: a run signs with accounts it makes for itself"
    assert helps["--keystore"] == helps["--passphrase-file"] == unused
    assert helps["--index-dir"] == "not used: a run keeps no index"


@pytest.mark.parametrize(
    ("line", "command", "extra"),
    [
        ("run scenario.json --bogus x", "run", "--bogus"),
        ("settle --ammount 1 --ref B1", "settle", "--ammount (did you mean --amount?)"),  # not an action "1"
        ("settle import bank.csv --skip-invalid --dry-run", "settle", "--dry-run"),
        ("member list imu more", "member", "more"),
        ("statement imu --yaer 2026", "statement", "--yaer (did you mean --year?)"),
        ("settle import bank.csv --skip-invalide", "settle", "--skip-invalide (did you mean --skip-invalid?)"),
        ("verify --member=imu --polisy=p.toml", "verify", "--polisy=p.toml (did you mean --policy?)"),
    ],
)
def test_an_argument_no_command_takes_is_told_by_the_command_it_was_given_to(
    line: str, command: str, extra: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(line.split())
    assert exit_.value.code == 2
    expected = f"ledger {command}: unrecognized arguments: {extra} (see `ledger {command} --help`)\n"
    assert capsys.readouterr().err == expected


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        ("stament", "there is no command 'stament' (did you mean statement or instrument?)"),
        ("Run", "there is no command 'Run' (did you mean run?)"),
        ("frobnicate", "there is no command 'frobnicate'"),
    ],
)
def test_a_command_mistyped_is_told_the_commands_spelt_like_it(
    typed: str, told: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([typed, "imu"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"ledger: {told} (see `ledger --help`)\n"  # not every command's name


def test_a_long_value_quoted_in_a_refusal_is_cut_to_a_line_a_person_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path / "home"))
    pasted = "x" * 5000  # a whole file pasted where a name goes
    assert main(["key", "new", pasted]) == 1
    err = capsys.readouterr().err
    assert (
        err == f"error: '{'x' * 40}...' (5,000 characters) cannot name a key or member here: use up to 64 letters, "
        "digits, '-', '_' or '.' (not first)\n"
    )
    assert main(["key", "new", "x" * 80 + "!"]) == 1  # 81 characters: cut; a shorter value is quoted whole
    assert "(81 characters)" in capsys.readouterr().err
    # a file name no file can have, unquoted in the sentence, is cut as well (a real path is seldom 1,000)
    assert main(["contract", "register", "--file", "y" * 5000]) == 1
    assert capsys.readouterr().err == (
        f"error: cannot read the contract file {'y' * 40}... (5,000 characters): File name too long\n"
    )
    named = str(tmp_path / ("z" * 200))  # a long path, but one a folder could hold: shown whole
    assert main(["contract", "register", "--file", named]) == 1
    assert capsys.readouterr().err == f"error: no contract file at {named}\n"

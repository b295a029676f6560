"""`ledger COMMAND --help` explains every argument it lists."""

from __future__ import annotations

import argparse

from ledger.cli import build_parser


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

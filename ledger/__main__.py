"""`python -m ledger`, the same as the `ledger` command (for an environment whose scripts are not on PATH)."""

from ledger.cli import entry

entry()

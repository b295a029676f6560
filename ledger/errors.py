"""The error tree of the ledger. Every refusal is a `LedgerError` whose message is a sentence.

LedgerError
├── InputError                 bad input caught before anything is sent
│   ├── UsageError             the command line lacks an argument its action needs (exit 2)
│   ├── AmountError            malformed or out-of-range money or points
│   ├── DateError              malformed date or time
│   ├── CreditCodeError        malformed unified social credit code
│   ├── PolicyFileError        unreadable or inconsistent policy file
│   ├── ScenarioError          invalid scenario file (with its location)
│   └── ImportRefused          a bulk import's bad rows, each with its line (ledger.services.payment_rows)
├── ConfigError                missing deployment record, keystore, passphrase, node; an unfit chain
├── ChainError                 the chain could not be reached or misbehaved
│   ├── TransactionFailed      a mined transaction reverted without a decodable reason
│   ├── RequestRefused         the node answered a raw request with an error   ┐
│   ├── NodeRefused            the node's pool would not take a transaction    │
│   │   └── PoolFull           ... yet: no room for the account's next ones    ├ ledger.chain.session
│   └── Superseded             another transaction took this one's nonce       ┘
├── IdentityError              a certificate or proof refused (ledger.identity.ca)
└── ContractError              a contract refused: decoded custom error with its arguments
    └── one subclass per custom error name (ledger.chain.errors.error_class("DuplicatePayment"))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class InputError(LedgerError):
    """Input refused before anything was sent."""


class UsageError(InputError):
    """The command line lacks an argument its action needs: reported as a usage error."""


class AmountError(InputError):
    pass


class DateError(InputError):
    pass


class CreditCodeError(InputError):
    pass


class PolicyFileError(InputError):
    pass


class ScenarioError(InputError):
    """The scenario file itself is invalid; `where` names the place (e.g. ``events[3].amount``)."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(LedgerError):
    pass


class ChainError(LedgerError):
    pass


class TransactionFailed(ChainError):
    pass


class ContractError(LedgerError):
    """A contract refused the call with a custom error.

    ``name`` is the Solidity error name, ``arguments`` its decoded arguments by parameter name;
    the message is a sentence a person can read.
    """

    name: str = "ContractError"

    def __init__(self, message: str, *, name: str, arguments: dict[str, Any]) -> None:
        self.name = name
        self.arguments = arguments
        super().__init__(message)

    def saying(self, differences: list[str]) -> ContractError:
        """The same refusal followed by what the refused call differs in from what is recorded
        ("...: amount 1.00 yuan here, 2.00 yuan recorded"); itself when no difference is known."""
        if not differences:
            return self
        return type(self)(with_differences(str(self), differences), name=self.name, arguments=self.arguments)


def with_differences(refusal: str, differences: Sequence[str]) -> str:
    """A refusal of a resend followed by what it differs in from what is recorded."""
    return f"{refusal}: {'; '.join(differences)}" if differences else refusal

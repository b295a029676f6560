"""Decode contract reverts into typed `ContractError`s with a sentence a person can read."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ledger.chain.artifacts import all_error_abis
from ledger.domain.dates import format_beijing
from ledger.domain.money import readable_points, readable_yuan
from ledger.errors import ContractError

Namer = Callable[[str], str]
"""Turns an address into the name a person knows it by (or the address itself)."""

ROLE_NAMES = {
    "0x" + "00" * 32: "regulator",
    "0x" + keccak(text="OPERATOR_ROLE").hex(): "operator",
}

#: Arguments that are money (fen) or points (centipoints), by error and argument name.
_FEN_ARGS = {"amount", "outstanding", "originalValue", "minimum"}
_POINT_ERRORS = {"InsufficientPoints"}

MESSAGES: dict[str, str] = {
    # access
    "AccessControlUnauthorizedAccount": "{account} is not allowed to do this: it needs the {neededRole} role",
    "AccessControlBadConfirmation": "an account can only renounce its own role",
    "CallerNotOperator": "{caller} is not an operator: only an operator of the market may record this",
    "CallerNotRegulator": "{caller} is not the regulator: only the regulator may do this",
    "CallerNotLedger": "{caller} is not the settlement ledger: points are issued only with a settlement",
    "AlreadyWired": "the contracts are already wired together",
    # membership
    "MemberAlreadyEnrolled": "{account} is already enrolled",
    "UnknownMember": "{account} is not a member",
    "MemberAlreadySuspended": "{account} is already suspended",
    "MemberNotSuspended": "{account} is not suspended, so it cannot be reinstated",
    "InvalidMemberKind": "a member needs a kind (university, institute, enterprise, ...)",
    "OperatorCannotTrade": (
        "{account} is an operator: an operator records the payments that earn members their points, so it "
        "is not enrolled as a member trading on the market"
    ),
    "MemberCannotOperate": (
        "{account} is a member trading on the market: an operator records the payments that earn members "
        "their points, so it is not made one"
    ),
    "ZeroAddress": "the zero address cannot be a member or an operator",
    "WiredToZeroAddress": "a contract cannot be wired to the zero address",
    "NotAMember": "{account} is not a member of the market",
    "PartySuspended": "{account} is suspended and cannot be a party to a new contract",
    # policy
    "UnknownRule": "there is no rule {ruleId} in the ledger",
    "EmptyPolicyVersion": "a policy version must change at least one rule",
    "RateAboveHundredPercent": "a rate of {rateBps} basis points is above 100%",
    "InvalidPolicyWindow": "the window of rule {ruleId} ends ({windowEnd}) before it starts ({windowStart})",
    "PolicyRetroactive": (
        "a version of {ruleId} effective {effectiveFrom} would apply retroactively: "
        "facts dated up to {latestRecorded} are already recorded"
    ),
    # contracts
    "UnknownContract": "there is no contract {contractId}",
    "ContractAlreadyRegistered": "contract {contractId} is already registered",
    "SellerIsBuyer": "contract {contractId} names {account} as both seller and buyer",
    "BrokerIsAParty": "contract {contractId} names {account} both as a party and as its broker",
    "NoMilestones": "contract {contractId} has no milestones; its value is the sum of its milestones",
    "ZeroAmount": "the amount must be more than zero",
    "AmountTooLarge": "the amount {amount} is too large",
    "ZeroUpfrontMilestoneAtSigning": (
        "contract {contractId} has a zero-upfront plan but milestone {index} is due on or before signing"
    ),
    "DeferredNeedsOneMilestone": (
        "contract {contractId} has a deferred plan, which takes exactly one milestone, not {count}"
    ),
    "RoyaltyNotAllowed": "contract {contractId}: only a zero-upfront staged-royalty plan carries a royalty rate",
    "UnknownInstrument": "there is no shared instrument {instrumentId}",
    "InstrumentAlreadyRegistered": "instrument {instrumentId} is already registered",
    "InstrumentBelowSharingThreshold": (
        "instrument {instrumentId} has an original value of {originalValue} yuan; only instruments of "
        "{minimum} yuan or more can be shared"
    ),
    "ServiceNeedsInstrument": "service contract {contractId} must name a registered shared instrument",
    "InstrumentOnlyForService": "contract {contractId} is not a service contract, so it cannot name an instrument",
    "SellerNotInstrumentProvider": (
        "service contract {contractId}: the seller {seller} is not the provider of the instrument ({provider})"
    ),
    "UnknownMilestone": "contract {contractId} has no milestone {index}",
    "MilestoneRequired": "contract {contractId} has {milestoneCount} milestones: say which one this payment is for",
    "MilestoneAlreadyAchieved": "milestone {index} of contract {contractId} is already recorded as achieved",
    "MilestoneNotAchieved": (
        "milestone {index} of contract {contractId} has not been recorded as achieved, so it cannot be paid yet"
    ),
    "AmountExceedsDue": (
        "a payment of {amount} yuan is more than the {outstanding} yuan still due on milestone {index} "
        "of contract {contractId}"
    ),
    "NoRoyaltyTerms": "contract {contractId} has no royalty rate, so it takes no revenue reports",
    "RoyaltyPeriodAlreadyReported": "revenue for period {period} of contract {contractId} is already reported",
    "RoyaltyPeriodNotReported": "no revenue is reported for period {period} of contract {contractId}",
    "RoyaltyExceedsDue": (
        "a royalty payment of {amount} yuan is more than the {outstanding} yuan still due for period "
        "{period} of contract {contractId}"
    ),
    "PaymentBeforeSigning": "the payment is dated {paidAt}, before contract {contractId} was signed ({signedAt})",
    "DatedBeforeSigning": "the date {date} is before contract {contractId} was signed ({signedAt})",
    "DatedInFuture": "the date {date} is in the future (the chain's time is {now_})",
    "DateBeyondCalendar": "the date {timestamp} is after 2100-02-28, beyond the ledger's calendar of Beijing years",
    # settlements
    "DuplicatePayment": "payment reference {ref} was already recorded with different data",
    "DuplicateAttestation": "attestation {attestationId} was already recorded with different data",
    "EmptyReference": "a payment reference must not be empty",
    "NotAnEnterprise": "{member} is not an enterprise, so it cannot be attested as a start-up",
    "RevenueYearAhead": "the revenue of {year} cannot be attested on {at}: that year has not begun",
    "EmptyBatch": "a batch must hold at least one settlement",
    # points
    "PointsNotTransferable": "points cannot be transferred or approved; they can only be redeemed",
    "MemberNotActive": "{member} is not an active member, so it cannot redeem points",
    "InsufficientPoints": "{member} holds {balance} points and cannot redeem {requested}",
    "EmptyPurpose": "a redemption must say what the points are for",
}

_PANICS = {
    0x01: "an internal assertion failed",
    0x11: "an amount overflowed",
    0x12: "division by zero",
    0x21: "a value is out of range for its kind",
    0x32: "an index is out of range",
}


class _ErrorSpec:
    def __init__(self, abi: dict[str, Any]) -> None:
        self.name: str = abi["name"]
        self.names = [i["name"] for i in abi["inputs"]]
        self.types = [i["type"] for i in abi["inputs"]]
        self.selector = keccak(text=f"{self.name}({','.join(self.types)})")[:4]


@cache
def _specs() -> dict[bytes, _ErrorSpec]:
    return {spec.selector: spec for spec in map(_ErrorSpec, all_error_abis())}


@cache
def error_class(name: str) -> type[ContractError]:
    """The `ContractError` subclass for a Solidity error name (made once, then reused)."""
    return type(name, (ContractError,), {"name": name, "__module__": __name__})


def refusal(name: str, *values: Any, namer: Namer | None = None) -> ContractError:
    """The error the chain would raise for custom error `name` with these arguments, in its words:
    for a refusal the client makes before sending (the same sentence either way)."""
    spec = next(spec for spec in _specs().values() if spec.name == name)
    return decode_revert(spec.selector + abi_encode(spec.types, list(values)), namer=namer)


def bytes32_text(value: bytes) -> str:
    """A bytes32 that holds short text (ids, rule ids, periods) as that text; else as hex."""
    stripped = value.rstrip(b"\0")
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + value.hex()
    if stripped and text.isprintable() and b"\0" not in stripped:
        return text
    return "0x" + value.hex()


def _render(error: str, arg: str, abi_type: str, value: Any, namer: Namer) -> str:
    if abi_type == "address":
        return namer(to_checksum_address(value))
    if abi_type == "bytes32":
        hexed = "0x" + bytes(value).hex()
        if arg == "neededRole" or hexed in ROLE_NAMES:
            return ROLE_NAMES.get(hexed, hexed)
        return bytes32_text(bytes(value))
    if error in _POINT_ERRORS and arg in {"balance", "requested"}:
        return readable_points(int(value))
    if arg in _FEN_ARGS:
        return readable_yuan(int(value))
    if abi_type == "uint40" or arg in {"now_", "timestamp"}:
        return format_beijing(int(value))  # a date alone at Beijing midnight, else the time too
    return str(value)


def decode_revert(data: bytes, *, namer: Namer | None = None) -> ContractError:
    """Turn revert data into a typed error; unknown errors still show their selector."""
    namer = namer or (lambda address: address)
    selector, body = data[:4], data[4:]
    if selector == keccak(text="Error(string)")[:4]:
        (reason,) = abi_decode(["string"], body)
        return error_class("Error")(f"the contract refused: {reason}", name="Error", arguments={"reason": reason})
    if selector == keccak(text="Panic(uint256)")[:4]:
        (code,) = abi_decode(["uint256"], body)
        text = _PANICS.get(code, f"panic code {code:#x}")
        return error_class("Panic")(f"the contract stopped: {text}", name="Panic", arguments={"code": code})
    spec = _specs().get(selector)
    if spec is None:
        if not data:
            return error_class("Reverted")(
                "the contract refused without giving a reason", name="Reverted", arguments={}
            )
        return error_class("UnknownError")(
            f"the contract refused with an unknown error (selector 0x{selector.hex()})",
            name="UnknownError",
            arguments={"selector": "0x" + selector.hex()},
        )
    values = [
        to_checksum_address(v) if t == "address" else v
        for t, v in zip(spec.types, abi_decode(spec.types, body), strict=True)
    ]
    arguments = dict(zip(spec.names, values, strict=True))
    template = MESSAGES.get(spec.name)
    rendered = {
        name: _render(spec.name, name, abi_type, value, namer)
        for name, abi_type, value in zip(spec.names, spec.types, values, strict=True)
    }
    if template is None:
        shown = ", ".join(f"{k}={v}" for k, v in rendered.items())
        message = f"the contract refused with {spec.name}({shown})"
    else:
        message = template.format(**rendered)
    return error_class(spec.name)(message, name=spec.name, arguments=arguments)


_BYTES_LITERAL = re.compile(r"b(['\"]).*\1", re.S)


def revert_data_of(exc: BaseException) -> bytes | None:
    """Extract revert data from an eth-tester or web3 exception, if it carries any."""
    data = getattr(exc, "data", None)
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, Mapping):
        inner = data.get("data")
        if isinstance(inner, str) and inner.startswith("0x"):
            return bytes.fromhex(inner[2:])
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, (bytes, bytearray)):
            return bytes(arg)
        if isinstance(arg, str):
            match = _BYTES_LITERAL.search(arg)
            if match:
                literal = ast.literal_eval(match.group(0))
                if isinstance(literal, bytes):
                    return literal
            hexed = re.search(r"0x[0-9a-fA-F]{8,}", arg)
            if hexed and "revert" in arg.lower():
                return bytes.fromhex(hexed.group(0)[2:])
            if "execution reverted" in arg.lower() and arg.strip().lower().endswith("execution reverted"):
                return b""
    return None

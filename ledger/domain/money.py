"""Money in fen and points in centipoints: integers end to end, decimal strings at the edges."""

from __future__ import annotations

import re
from typing import NewType

from ledger.domain.typed import full_width_note
from ledger.errors import AmountError

Fen = NewType("Fen", int)
"""Money: 1 yuan = 100 fen."""

Centipoints = NewType("Centipoints", int)
"""Points: 1 point = 100 centipoints; 1 point is worth 1 yuan of policy value."""

#: The largest amount a single payment or milestone may carry (the contracts store uint48).
MAX_AMOUNT = (1 << 48) - 1

_DECIMAL = re.compile(r"(?P<units>0|[1-9][0-9]*)(?:\.(?P<cents>[0-9]{1,2}))?")


def _parse_hundredths(text: object, *, what: str) -> int:
    if text is None:
        raise AmountError(f'{what} is missing: a decimal string such as "1234.50"')
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise AmountError(f'{what} must be a decimal string such as "1234.50", not {text!r}')
    raw = str(text).strip()
    match = _DECIMAL.fullmatch(raw)
    if match is None:
        if raw.startswith("-"):
            raise AmountError(f"{what} {raw!r} is negative; amounts are never below zero")
        if re.fullmatch(r"[0-9]+\.[0-9]{3,}", raw):
            raise AmountError(f"{what} {raw!r} has more than two decimal places")
        if re.fullmatch(r"[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]{1,2})?", raw):  # as a bank statement prints it
            raise AmountError(f"{what} {raw!r} has thousands separators; write it as {raw.replace(',', '')}")
        note = full_width_note(raw, reads=_DECIMAL.fullmatch)
        if note is not None:
            raise AmountError(f"{what} {raw!r} {note}")
        raise AmountError(f"{what} {raw!r} is not a decimal amount with at most two decimal places")
    if len(match["units"]) > len(str(MAX_AMOUNT)):  # too large, and perhaps too long for int() to read
        raise _too_large(what, raw)
    value = int(match["units"]) * 100 + int((match["cents"] or "0").ljust(2, "0"))
    if value > MAX_AMOUNT:
        raise _too_large(what, raw)
    return value


def _too_large(what: str, raw: str) -> AmountError:
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    return AmountError(f"{what} {shown!r} is too large (at most {group_thousands(format_hundredths(MAX_AMOUNT))})")


def parse_yuan(text: object, *, what: str = "amount") -> Fen:
    """Parse "2000000.00" (yuan, at most two decimals, not negative) into fen."""
    return Fen(_parse_hundredths(text, what=what))


def parse_points(text: object, *, what: str = "points") -> Centipoints:
    """Parse "100.00" (points, at most two decimals, not negative) into centipoints."""
    return Centipoints(_parse_hundredths(text, what=what))


def format_hundredths(value: int) -> str:
    sign = "-" if value < 0 else ""
    units, cents = divmod(abs(value), 100)
    return f"{sign}{units}.{cents:02d}"


def format_yuan(fen: int) -> str:
    """Fen as a yuan string with two decimals: 12345 -> "123.45"."""
    return format_hundredths(fen)


def format_points(centipoints: int) -> str:
    """Centipoints as a points string with two decimals."""
    return format_hundredths(centipoints)


def readable_yuan(fen: int) -> str:
    """Fen as yuan for a sentence a person reads: 200000000 -> "2,000,000.00"."""
    return group_thousands(format_yuan(fen))


def readable_points(centipoints: int) -> str:
    """Centipoints as points for a sentence a person reads, with thousands grouped."""
    return group_thousands(format_points(centipoints))


def format_percent(part: int, whole: int) -> str:
    """`part` as a percentage of `whole`, floored to two decimals, in integers: (1, 3) -> "33.33"."""
    return format_hundredths(part * 10_000 // whole)


def group_thousands(text: str) -> str:
    """ "2000000.00" -> "2,000,000.00", for tables a person reads."""
    units, _, cents = text.partition(".")
    sign = "-" if units.startswith("-") else ""
    units = units.lstrip("-")
    return f"{sign}{int(units):,}.{cents}"

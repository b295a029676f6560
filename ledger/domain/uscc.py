"""Unified social credit codes (统一社会信用代码), GB 32100-2015."""

from __future__ import annotations

from ledger.domain.typed import full_width_note
from ledger.errors import CreditCodeError

#: The 31 characters a code may use: digits and capitals without I, O, S, V, Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: object) -> str:
    """Return the code if it is a well-formed credit code, else raise `CreditCodeError`."""
    if not isinstance(code, str):
        raise CreditCodeError(f"credit code must be text, not {code!r}")
    if code != code.strip():
        raise CreditCodeError(f"credit code {code!r} begins or ends with white space")
    note = full_width_note(code)
    if note is not None:
        raise CreditCodeError(f"credit code {code!r} {note}")
    if len(code) != LENGTH:
        characters = "1 character" if len(code) == 1 else f"{len(code)} characters"
        raise CreditCodeError(f"credit code {code!r} has {characters}; it must have {LENGTH}")
    for position, ch in enumerate(code, start=1):
        if ch not in ALPHABET:
            if ch in "IOSVZ":
                reason = f"the letter {ch} is never used in credit codes"
            elif ch.isalpha() and ch.upper() in ALPHABET:
                reason = "letters must be capitals"
            else:
                reason = "only digits and the capitals 0-9 A-H J-N P-R T U W-Y are allowed"
            raise CreditCodeError(f"credit code {code!r} has {ch!r} at position {position}: {reason}")
    if not code[2:8].isdigit():
        raise CreditCodeError(f"credit code {code!r}: characters 3-8 must be an administrative division code")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(
            f"credit code {code!r} has check character {code[17]!r}; the first 17 characters give {expected!r}"
        )
    return code

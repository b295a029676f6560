"""Identifiers: contract ids, payment references, royalty periods, instrument and rule ids.

On chain each is a bytes32 holding its UTF-8 text. An identifier has one spelling only: "B1" and
"B1 " would be two payment references for one bank transfer, and the same payment could be counted
twice. So text with white space at either end, or with a character that does not print, is refused
rather than stored (a bulk import trims its cells first, as a spreadsheet shows them); so is text typed
in a Chinese input method's full-width letters and digits (ＢＡＮＫ－１ for BANK-1), told its half-width
spelling.
"""

from __future__ import annotations

from ledger.domain.typed import full_width_note
from ledger.errors import InputError

#: The most UTF-8 bytes an identifier may take: it is stored in a bytes32.
ID_BYTES = 32


def check_identifier(text: str, *, what: str = "identifier") -> str:
    """`text` itself when it can be an identifier, else `InputError` saying why not."""
    if not text:
        raise InputError(f"the {what} is empty")
    if text != text.strip():
        raise InputError(f"{what} {text!r} begins or ends with white space")
    if not text.isprintable():
        raise InputError(f"{what} {text!r} holds a character that does not print")
    note = full_width_note(text)
    if note is not None:
        raise InputError(f"{what} {text!r} {note}")
    if len(text.encode("utf-8")) > ID_BYTES:
        raise InputError(f"{what} {text!r} is longer than {ID_BYTES} bytes")
    return text

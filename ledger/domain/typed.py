"""Text as an operator's keyboard may give it."""

from __future__ import annotations

from collections.abc import Callable

#: The full-width forms of the printable ASCII characters, U+FF01 (！) to U+FF5E (～), lie this far above them.
FULL_WIDTH_OFFSET = 0xFEE0


def halfwidth(text: str) -> str | None:
    """`text` in half-width (ASCII) characters when it was typed with a Chinese input method's full-width
    letters, digits and signs (２０２６－０３－０１, １２．５０); None when it has none of them, or has
    other characters beyond ASCII too (a superscript ², a Chinese word), which no such spelling mends."""
    plain = "".join(chr(ord(ch) - FULL_WIDTH_OFFSET) if "\uff01" <= ch <= "\uff5e" else ch for ch in text)
    return plain if plain != text and plain.isascii() else None


def full_width_note(text: str, *, reads: Callable[[str], object] = bool) -> str | None:
    """What to tell of `text` typed in full-width characters ("is written in full-width characters; write
    it as BANK-1", to follow the quoted text), when its half-width spelling `reads` (is truthy); else None."""
    plain = halfwidth(text)
    if plain is None or not reads(plain):
        return None
    return f"is written in full-width characters; write it as {plain}"

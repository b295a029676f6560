"""Text as an operator's keyboard may give it."""

from __future__ import annotations

import unicodedata


def halfwidth(text: str) -> str | None:
    """`text` in half-width (ASCII) characters when it was typed with a Chinese input method's full-width
    digits and signs (２０２６－０３－０１, １２．５０); None when it has none of them."""
    plain = unicodedata.normalize("NFKC", text)
    return plain if plain != text and plain.isascii() else None

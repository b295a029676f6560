"""Shared Hypothesis strategies."""

from __future__ import annotations

from hypothesis import strategies as st

#: Money amounts in fen, up to 50 million yuan.
fen = st.integers(min_value=1, max_value=5_000_000_000)


@st.composite
def splits(draw: st.DrawFn, total: int, max_parts: int = 8) -> list[int]:
    """A random split of `total` fen into positive parts."""
    parts = draw(st.integers(min_value=1, max_value=min(max_parts, total)))
    cuts = (
        sorted(draw(st.sets(st.integers(min_value=1, max_value=total - 1), min_size=parts - 1, max_size=parts - 1)))
        if parts > 1 and total > 1
        else []
    )
    bounds = [0, *cuts, total]
    return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]

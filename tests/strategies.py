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


#: Any JSON value a hand-written file might hold where another was meant, and the text a spreadsheet or
#: a typo leaves: wrong types, odd digits, impossible dates, numbers past every limit.
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.sampled_from(["²", "２０２６-０１-０１", "2026-02-30", "2026/3/1", "1,000.00", "1E+5", "=1+1", "-1", "0"]),
        st.sampled_from(["imu", "TC-1", "NMR-1", "R6-TALENT", "payment", "2026-05-01", "1000000.00"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=2), st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=4,
)

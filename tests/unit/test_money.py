from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.money import MAX_AMOUNT, format_percent, format_yuan, group_thousands, parse_points, parse_yuan
from ledger.errors import AmountError


@pytest.mark.parametrize(
    ("text", "fen"),
    [("2000000.00", 200_000_000), ("0.15", 15), ("12.3", 1230), ("7", 700), ("0", 0), (100, 10_000)],
)
def test_parse_yuan_reads_decimal_strings_into_fen(text: object, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.345", "more than two decimal places"),
        ("-1", "negative"),
        ("abc", "not a decimal amount"),
        (1e30, "decimal string"),
        (1.5, "decimal string"),
        ("1e30", "not a decimal amount"),
        ("", "not a decimal amount"),
        ("01.00", "not a decimal amount"),
        (" ", "not a decimal amount"),
        (None, "amount is missing: a decimal string"),
        (True, "decimal string"),
        ("99999999999999999.00", "too large"),
        ("9" * 80 + ".00", r"'9{37}\.\.\.' is too large \(at most 2,814,749,767,106.55\)"),  # any number of digits
        ("1,000,000.00", "has thousands separators; write it as 1000000.00"),
        ("12,34.00", "not a decimal amount"),  # not grouped by thousands: no guess at what was meant
        ("１０００.５０", "is written in full-width characters; write it as 1000.50"),  # a Chinese input method's
        ("１，０００", "not a decimal amount"),  # full-width and grouped: neither hint alone would mend it
    ],
)
def test_parse_yuan_refuses_malformed_amounts_with_a_sentence(text: object, reason: str) -> None:
    with pytest.raises(AmountError, match=reason):
        parse_yuan(text)


def test_parse_points_uses_the_same_grammar() -> None:
    assert parse_points("100.00") == 10_000
    with pytest.raises(AmountError, match="points"):
        parse_points("1.001")


@given(st.integers(min_value=0, max_value=MAX_AMOUNT))
def test_format_and_parse_round_trip(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


def test_group_thousands_for_people() -> None:
    assert group_thousands("2000000.00") == "2,000,000.00"
    assert group_thousands("0.03") == "0.03"


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [(1, 3, "33.33"), (2, 3, "66.66"), (3, 3, "100.00"), (350_000_000, 30_000_000_000_000, "0.00"), (7, 4, "175.00")],
)
def test_percentages_are_floored_to_two_decimals_without_floats(part: int, whole: int, text: str) -> None:
    assert format_percent(part, whole) == text

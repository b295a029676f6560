"""Whole numbers on the command line: ASCII digits only, each refusal a sentence."""

from __future__ import annotations

import argparse

import pytest

from ledger.cli import calendar_year, int_in
from ledger.cli_identity import _is_hex

MILESTONE = int_in(0, 9, what="the milestone number")


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("7", 7), ("09", 9)])
def test_ascii_digits_are_read(text: str, value: int) -> None:
    assert MILESTONE(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("２", "the milestone number '２' is written in full-width characters; write it as 2"),
        ("٣", "the milestone number must be a whole number, not '٣'"),  # int() reads Arabic-Indic digits
        ("1_0", "must be a whole number, not '1_0'"),  # int() reads underscores
        (" 3", "must be a whole number, not ' 3'"),  # and white space
        ("+3", "must be a whole number, not '+3'"),
        ("3.0", "must be a whole number, not '3.0'"),
        ("", "must be a whole number, not ''"),
        ("9" * 5000, "must be a whole number"),  # beyond int()'s digit limit: still a sentence
        ("-1", "the milestone number must be from 0 to 9, not -1"),
        ("10", "the milestone number must be from 0 to 9, not 10"),
    ],
)
def test_anything_else_is_refused_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        MILESTONE(text)
    assert message in str(refused.value)


def test_a_year_is_read_the_same_way() -> None:
    assert calendar_year("2027") == 2027
    with pytest.raises(argparse.ArgumentTypeError, match="write it as 2027"):
        calendar_year("２０２７")
    with pytest.raises(argparse.ArgumentTypeError, match="the year must be from 2000 to 2099, not 226"):
        calendar_year("226")


@pytest.mark.parametrize(
    ("text", "is_serial"),
    [("1f", True), ("0x1F", True), ("１f", False), ("1_f", False), (" 1f", False), ("rogue", False)],
)
def test_a_certificate_serial_is_plain_hexadecimal(text: str, is_serial: bool) -> None:
    assert _is_hex(text) is is_serial

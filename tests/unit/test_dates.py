from __future__ import annotations

import re

import pytest

from ledger.domain.dates import beijing_midnight, beijing_year, end_of_day, format_window, parse_date, parse_instant
from ledger.errors import DateError


def test_a_date_is_beijing_midnight() -> None:
    assert parse_date("2026-01-15") == parse_instant("2026-01-14T16:00:00Z")


def test_beijing_year_boundary() -> None:
    assert beijing_year(parse_instant("2026-12-31T15:59:59Z")) == 2026
    assert beijing_year(parse_instant("2026-12-31T16:00:00Z")) == 2027
    assert beijing_year(parse_instant("2026-12-31T20:00:00Z")) == 2027


def test_a_fraction_of_a_second_is_dropped_as_the_chain_counts_whole_seconds() -> None:
    assert parse_instant("2026-12-31T15:59:59.999Z") == parse_instant("2026-12-31T15:59:59Z")
    assert beijing_year(parse_instant("2026-12-31T15:59:59.999999Z")) == 2026  # not rounded into 2027
    assert parse_instant("2026-05-01T09:30:00.5+08:00") == parse_instant("2026-05-01T09:30:00+08:00")


@pytest.mark.parametrize("text", ["2026-02-30", "2026/01/01", "tomorrow", "2026-05-01T10:00:00", "", None, 20260101])
def test_bad_dates_are_refused(text: object) -> None:
    with pytest.raises(DateError):
        parse_instant(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("20260301", "is not a date (YYYY-MM-DD) or an ISO-8601 time with offset"),
        ("２０２６-０３-０１", "is written in full-width characters; write it as 2026-03-01"),  # an input method's
        ("２０２６－０３－０１T09:30+08:00", "write it as 2026-03-01T09:30+08:00"),
        ("2026-03-01T10:00:00", "has no UTC offset"),
        ("2026-03-01 10:00", "has no UTC offset"),
        (None, "time is missing: a date (YYYY-MM-DD) or an ISO-8601 time with offset"),  # a field left out
    ],
)
def test_a_refused_date_is_told_what_it_lacks(text: str | None, says: str) -> None:
    with pytest.raises(DateError, match=re.escape(says)):
        parse_instant(text)


def test_a_date_in_full_width_digits_is_told_its_half_width_spelling_only_where_that_is_a_date() -> None:
    with pytest.raises(DateError, match="is written in full-width characters; write it as 2026-03-01$"):
        parse_date("２０２６-０３-０１")
    with pytest.raises(DateError, match=r"is not a date of the form YYYY-MM-DD$"):
        parse_date("２０２６-０３-０１T09:30+08:00")  # a time, where only a date is taken
    with pytest.raises(DateError, match=r"ISO-8601 time with offset$"):
        parse_instant("２０２６-１３-０１")  # no month 13, in any width


def test_a_window_ending_at_the_end_of_a_day_reads_as_inclusive_dates() -> None:
    start, last = parse_date("2026-01-15"), parse_date("2028-12-31")
    assert format_window(start, end_of_day(last)) == "2026-01-15 to 2028-12-31"
    assert format_window(start, last + 3600) == "2026-01-15 to 2028-12-31T01:00:00+08:00"


@pytest.mark.parametrize(
    "text",
    ["1999-12-31", "1969-12-31", "2100-01-01", "9999-12-31", "9999-12-31T23:00:00-05:00", "1970-01-01T00:00:00Z"],
)
def test_dates_outside_the_years_the_ledger_records_are_refused(text: str) -> None:
    """Before 2000 a date could come before the epoch; after 2099 the contracts' calendar and the embedded
    chain's clock end."""
    with pytest.raises(DateError, match=f"^date '{text}' is outside the years 2000 to 2099 that the ledger records$"):
        parse_instant(text, what="date")


def test_the_first_and_last_days_the_ledger_records_are_taken() -> None:
    assert parse_instant("2000-01-01") < parse_instant("2099-12-31T23:59:59+08:00")


def test_the_beijing_day_of_a_moment_starts_at_beijing_midnight() -> None:
    """2026-12-31T16:00:00Z is already 2027-01-01 in Beijing; one second earlier is still 2026-12-31."""
    assert beijing_midnight(parse_instant("2026-12-31T16:00:00Z")) == parse_date("2027-01-01")
    assert beijing_midnight(parse_instant("2026-12-31T15:59:59Z")) == parse_date("2026-12-31")
    assert beijing_midnight(parse_date("2026-03-01")) == parse_date("2026-03-01")

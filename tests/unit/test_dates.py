from __future__ import annotations

import pytest

from ledger.domain.dates import beijing_year, parse_date, parse_instant
from ledger.errors import DateError


def test_a_date_is_beijing_midnight() -> None:
    assert parse_date("2026-01-15") == parse_instant("2026-01-14T16:00:00Z")


def test_beijing_year_boundary() -> None:
    assert beijing_year(parse_instant("2026-12-31T15:59:59Z")) == 2026
    assert beijing_year(parse_instant("2026-12-31T16:00:00Z")) == 2027
    assert beijing_year(parse_instant("2026-12-31T20:00:00Z")) == 2027


@pytest.mark.parametrize("text", ["2026-02-30", "2026/01/01", "tomorrow", "2026-05-01T10:00:00", "", None, 20260101])
def test_bad_dates_are_refused(text: object) -> None:
    with pytest.raises(DateError):
        parse_instant(text)

"""Dates and times. The policy counts in Beijing time (UTC+8, no daylight saving)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from ledger.domain.typed import full_width_note
from ledger.errors import DateError

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: The years the ledger records. The contracts' Beijing calendar ends on 2100-02-28, and the embedded
#: chain refuses clocks after the year 3016; nothing in a market of this century falls outside.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def is_recorded_year(year: int) -> bool:
    """Whether the ledger records dates in `year` (FIRST_YEAR to LAST_YEAR)."""
    return FIRST_YEAR <= year <= LAST_YEAR


def _in_years(day: date, text: str, what: str) -> None:
    if not is_recorded_year(day.year):
        raise DateError(f"{what} {text!r} is outside the years {FIRST_YEAR} to {LAST_YEAR} that the ledger records")


def parse_date(text: object, *, what: str = "date") -> int:
    """A "YYYY-MM-DD" date as the unix time of Beijing midnight that day."""
    if text is None:
        raise DateError(f"{what} is missing: a date of the form YYYY-MM-DD")
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        note = _typed_note(text, parse_date)
        raise DateError(f"{what} {text!r} {note or 'is not a date of the form YYYY-MM-DD'}")
    return calendar_day(int(text[:4]), int(text[5:7]), int(text[8:]), written=text, what=what)


def _typed_note(text: object, reads: Callable[[str], object]) -> str | None:
    """What to tell of `text` typed in full-width characters whose half-width spelling `reads` (raises no
    `DateError`), in the words every refusal of full-width input uses; else None."""
    if not isinstance(text, str):
        return None

    def parses(plain: str) -> bool:
        try:
            reads(plain)
        except DateError:
            return False
        return True

    return full_width_note(text, reads=parses)


def calendar_day(year: int, month: int, day: int, *, written: str, what: str = "date") -> int:
    """Beijing midnight of that day, which a file wrote as `written` (quoted when it is refused)."""
    try:
        found = date(year, month, day)
    except ValueError as exc:
        raise DateError(f"{what} {written!r} is not a real calendar date") from exc
    _in_years(found, written, what)
    return _midnight(found)


def parse_instant(text: object, *, what: str = "time") -> int:
    """A date (Beijing midnight) or an ISO-8601 time with an offset, as unix seconds."""
    if text is None:
        raise DateError(f"{what} is missing: a date (YYYY-MM-DD) or an ISO-8601 time with offset")
    if not isinstance(text, str):
        raise DateError(f"{what} {text!r} is not a date or an ISO-8601 time")
    return _parse_instant(text, what)


@lru_cache(maxsize=4096)  # a bank file repeats the same few dates on thousands of rows
def _parse_instant(text: str, what: str) -> int:
    if _DATE.fullmatch(text):
        return parse_date(text, what=what)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        note = _typed_note(text, parse_instant) or "is not a date (YYYY-MM-DD) or an ISO-8601 time with offset"
        raise DateError(f"{what} {text!r} {note}") from exc
    if moment.tzinfo is None and "T" not in text.upper() and " " not in text:
        # a date in another shape (20260301), which Python reads as a time without offset
        raise DateError(f"{what} {text!r} is not a date (YYYY-MM-DD) or an ISO-8601 time with offset")
    if moment.tzinfo is None:
        raise DateError(f"{what} {text!r} has no UTC offset; write e.g. 2026-05-01T09:30:00+08:00")
    _in_years(moment.date(), text, what)  # as written: no overflow near the year 9999
    # The chain counts whole seconds: a fraction is dropped (2026-12-31T15:59:59.999Z is still 2026 in
    # Beijing), which keeps times in the order they were written.
    return int(moment.replace(microsecond=0).timestamp())


@lru_cache(maxsize=4096)  # the same few payment dates recur across a whole history
def beijing_year(unix_seconds: int) -> int:
    """The calendar year in Beijing of a unix time: 2026-12-31T16:00:00Z is 2027."""
    return datetime.fromtimestamp(unix_seconds, tz=BEIJING).year


def format_beijing(unix_seconds: int, *, with_time: bool = False) -> str:
    moment = datetime.fromtimestamp(unix_seconds, tz=BEIJING)
    if with_time or (moment.hour, moment.minute, moment.second) != (0, 0, 0):
        return moment.isoformat()
    return moment.date().isoformat()


def format_window(start: int, end: int) -> str:
    """An inclusive window for a person: "2026-01-15 to 2028-12-31" when it ends at the end of a day."""
    ends_a_day = datetime.fromtimestamp(end + 1, tz=BEIJING).time() == time(0)
    last = format_beijing(end + 1 - 86_400) if ends_a_day else format_beijing(end)
    return f"{format_beijing(start)} to {last}"


def overdue(*, due: int, paid: int, due_date: int, now: int) -> bool:
    """Whether an amount falling due on `due_date` is overdue at `now`: not fully paid once its due day
    is over (the whole Beijing day is still in time)."""
    return paid < due and beijing_midnight(now) > due_date


def beijing_midnight(unix_seconds: int) -> int:
    """The start (Beijing midnight) of the Beijing day that holds `unix_seconds`."""
    return _midnight(datetime.fromtimestamp(unix_seconds, tz=BEIJING).date())


def _midnight(day: date) -> int:
    """The unix time at which `day` begins in Beijing."""
    return int(datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp())


def end_of_day(unix_midnight: int) -> int:
    """The last second of the Beijing day that starts at `unix_midnight`."""
    return unix_midnight + 86_400 - 1

"""A milestone is overdue once its due date is past, by the Beijing calendar, and it is not fully paid."""

from __future__ import annotations

import pytest

from ledger.domain.dates import parse_date, parse_instant
from ledger.domain.money import Fen
from ledger.services.client import MilestoneRecord
from ledger.services.market_state import MilestoneState

DUE = parse_date("2026-06-30")


@pytest.mark.parametrize(
    ("paid", "now", "overdue"),
    [
        (0, "2026-06-30T00:00:00+08:00", False),
        (0, "2026-06-30T23:59:59+08:00", False),  # the whole due day is still in time
        (0, "2026-06-30T15:59:59Z", False),
        (0, "2026-06-30T16:00:00Z", True),  # midnight in Beijing: the due day is over
        (0, "2026-07-01T00:00:00+08:00", True),
        (99, "2027-01-01", True),  # partly paid
        (100, "2027-01-01", False),  # fully paid: never overdue
    ],
)
def test_overdue_counts_whole_beijing_days(paid: int, now: str, overdue: bool) -> None:
    """Alike as read from the contract (`contract show`) and as rebuilt from the events (`contract list`)."""
    as_read = MilestoneRecord(due=Fen(100), paid=Fen(paid), due_date=DUE, achieved=True)
    as_rebuilt = MilestoneState(due=100, due_date=DUE, paid=paid, achieved=True)
    assert as_read.overdue(parse_instant(now)) is overdue
    assert as_rebuilt.overdue(parse_instant(now)) is overdue


@pytest.mark.parametrize(
    ("paid", "achieved", "status"),
    [
        (0, False, "pending"),
        (0, True, "achieved"),
        (40, True, "achieved"),  # partly paid: its status stays, paid/due tells how much
        (40, False, "pending"),  # partly paid under a plan that pays without achievement
        (100, True, "paid"),
        (100, False, "paid"),  # fully paid under a lump-sum plan, never recorded as achieved
    ],
)
def test_a_milestone_is_paid_once_fully_paid(paid: int, achieved: bool, status: str) -> None:
    assert MilestoneRecord(due=Fen(100), paid=Fen(paid), due_date=DUE, achieved=achieved).status == status

"""The fetch-ahead helper of the log reader: order, errors and an early stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ledger.chain.logs import _one_ahead


def test_items_arrive_in_order_and_all_of_them() -> None:
    assert list(_one_ahead(iter(range(100)))) == list(range(100))


def test_an_error_of_the_producer_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("node gone")

    got = []
    with pytest.raises(ConnectionError, match="node gone"):
        for item in _one_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    produced = []

    def items() -> Iterator[int]:
        for n in range(1_000):
            produced.append(n)
            yield n

    before = set(threading.enumerate())
    ahead = _one_ahead(items())
    assert next(ahead) == 0
    (worker,) = set(threading.enumerate()) - before
    ahead.close()
    worker.join(timeout=2)
    assert not worker.is_alive()
    assert len(produced) <= 3  # one handed over, at most one waiting, one being made

"""The log reader's helpers: fetching one range ahead (order, errors, an early stop) and sizing ranges."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ledger.chain.logs import MAX_RANGE, TARGET_LOGS_PER_REQUEST, _one_ahead, next_range_size


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


def _logs(per_block: dict[int, int]) -> list[dict[str, str]]:
    return [{"blockNumber": hex(block)} for block, count in per_block.items() for _ in range(count)]


def test_an_empty_range_is_followed_by_one_twice_as_long_up_to_the_cap() -> None:
    assert next_range_size([], first=1, last=32) == 64
    assert next_range_size([], first=1, last=MAX_RANGE) == MAX_RANGE


def test_a_quiet_range_that_turns_busy_at_its_end_is_followed_by_a_short_one() -> None:
    """128 blocks, the last 4 with 231 logs each: the whole range's average (about 7 a block)
    would ask for some 700 blocks; the tail's density asks for 21."""
    per_block = {block: 1 for block in range(97, 221)} | {block: 231 for block in range(221, 225)}
    assert next_range_size(_logs(per_block), first=97, last=224) == TARGET_LOGS_PER_REQUEST // 231


def test_an_even_range_is_sized_for_the_target_and_grows_at_most_twofold() -> None:
    assert next_range_size(_logs({block: 500 for block in range(10, 20)}), first=10, last=19) == 10
    assert next_range_size(_logs({block: 50 for block in range(10, 20)}), first=10, last=19) == 20
    assert next_range_size(_logs({5: 20_000}), first=5, last=5) == 1

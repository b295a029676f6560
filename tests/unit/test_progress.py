"""The progress bar of long work: drawn only on a terminal, how far, how fast and how long to go,
redrawn at most ten times a second, and the time taken once done."""

from __future__ import annotations

import io

from ledger.cli import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_drawn_where_no_one_watches() -> None:
    assert progress_bar("rows", stream=io.StringIO()) is None


def test_the_bar_says_how_far_how_fast_and_how_long_to_go() -> None:
    screen, clock = Terminal(), Clock()
    bar = progress_bar("importing rows", stream=screen, clock=clock)
    assert bar is not None
    bar(0, 10_000)
    clock.now += 0.5
    bar(100, 10_000)  # half a second of work: no rate yet
    clock.now += 1.5
    bar(1_000, 10_000)  # 1,000 rows in 2 s
    frames = screen.getvalue().split("\r")[1:]
    assert frames == [
        "importing rows [..............................] 0/10,000\x1b[K",
        "importing rows [..............................] 100/10,000\x1b[K",
        "importing rows [###...........................] 1,000/10,000, 500/s, 18 s to go\x1b[K",
    ]


def test_it_is_redrawn_at_most_ten_times_a_second_but_always_when_done() -> None:
    screen, clock = Terminal(), Clock()
    bar = progress_bar("rows", stream=screen, clock=clock)
    assert bar is not None
    for done in range(1, 51):
        clock.now += 0.01  # fifty calls in half a second
        bar(done, 50)
    frames = screen.getvalue().split("\r")[1:]
    assert len(frames) == 6  # at 0.01, 0.11, ... 0.41 s, and the last
    assert frames[-1] == "rows [##############################] 50/50 in 0.5 s\x1b[K\n"

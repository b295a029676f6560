"""The invariant suite catches the two bugs the reliability promise names: a removed duplicate check
and an off-by-one threshold, each planted in a throwaway copy of the contracts (scripts/plant-bug;
docs/reliability.md lists every planted bug and the invariant that fails)."""

from __future__ import annotations

import json

from tests.support import run_script


def test_a_removed_duplicate_check_and_an_off_by_one_threshold_are_caught() -> None:
    done = run_script("plant-bug", "--json", "no-duplicate-check", "threshold-off-by-one")
    results = {row["bug"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert results["no-duplicate-check"]["caught"]
    assert results["no-duplicate-check"]["invariant"] == "a reference was counted twice"
    assert results["threshold-off-by-one"]["caught"]
    assert "cumulative formula" in results["threshold-off-by-one"]["invariant"]

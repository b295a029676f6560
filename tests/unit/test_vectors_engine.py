"""The shared award vectors through the pure-Python engine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import engine_points
from tests.vectors.load import case_ids, cases


@pytest.mark.parametrize("case", cases(), ids=case_ids())
def test_engine_matches_hand_computed_vector(case: dict[str, Any]) -> None:
    skip = {int(i) for i in case.get("rejected", {})} | set(case.get("replayed", []))
    assert engine_points(case["scenario"], skip=skip) == case["expect"]

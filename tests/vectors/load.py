"""Load the shared award vectors (awards.json) as scenario documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).with_name("awards.json")


def cases() -> list[dict[str, Any]]:
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    out = []
    for case in data["cases"]:
        scenario = {
            "scenario": 1,
            "policy": None,
            "members": data["members"],
            "instruments": data["instruments"],
            "contracts": case["contracts"],
            "events": case["events"],
        }
        out.append({**case, "scenario": scenario})
    return out


def case_ids() -> list[str]:
    return [case["name"] for case in cases()]

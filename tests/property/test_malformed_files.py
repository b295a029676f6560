"""Files a person wrote, with any field replaced by any JSON value: read into a sentence or into data,
never into a crash (the CLI would show a traceback, and `ledger run` exit 1 instead of 2)."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.scenario import parse_scenario
from ledger.errors import LedgerError
from ledger.files import PAYMENT_COLUMNS
from ledger.services.importer import REJECT_COLUMNS, read_rows
from tests.strategies import json_values

DEMO: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json").read_text(encoding="utf-8")
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, from its top-level keys down to its leaves."""
    places = [path] if path else []
    if isinstance(value, dict):
        places += [p for key, child in value.items() for p in _paths(child, (*path, key))]
    elif isinstance(value, list):
        places += [p for index, child in enumerate(value) for p in _paths(child, (*path, index))]
    return places


PLACES = _paths(DEMO)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PLACES), json_values), min_size=1, max_size=3))
def test_a_scenario_with_any_field_replaced_is_read_or_refused_in_a_sentence(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    document = copy.deepcopy(DEMO)
    for place, value in changes:
        holder: Any = document
        try:
            for key in place[:-1]:
                holder = holder[key]
            holder[place[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change took the place away
    try:
        parse_scenario(document)
    except LedgerError as refusal:
        assert str(refusal)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.lists(json_values, max_size=len(PAYMENT_COLUMNS) + 3), max_size=4),
    st.booleans(),
    st.booleans(),
)
def test_a_payments_file_with_any_cells_is_read_into_rows_and_problems(
    tmp_path: Path, rows: list[list[Any]], reject_file: bool, as_json: bool
) -> None:
    header = [*PAYMENT_COLUMNS, *(REJECT_COLUMNS if reject_file else ())]
    if as_json:
        path = tmp_path / "payments.json"
        path.write_text(json.dumps([dict(zip(header, row, strict=False)) for row in rows]), encoding="utf-8")
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows([[v if isinstance(v, str) else json.dumps(v) for v in row] for row in rows])
        path = tmp_path / "payments.csv"
        path.write_text(text.getvalue(), encoding="utf-8")
    try:
        good, bad = read_rows(path)
    except LedgerError as refusal:
        assert str(refusal)
    else:
        assert len(good) + len(bad) <= len(rows)
        assert all(problem.message for problem in bad)

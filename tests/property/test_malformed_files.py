"""Files a person wrote or kept, with any field replaced by any JSON value: read into a sentence or into
data, never into a crash (the CLI would show a traceback, and `ledger run` exit 1 instead of 2)."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.scenario import parse_scenario
from ledger.errors import LedgerError
from ledger.files import PAYMENT_COLUMNS
from ledger.identity import ca, terms
from ledger.services.payment_rows import REJECT_COLUMNS, read_rows
from tests.strategies import json_values

DEMO: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json").read_text(encoding="utf-8")
)


def _replaced(document: Any, changes: list[tuple[tuple[Any, ...], Any]]) -> Any:
    """A copy of `document` with each place given a new value (a place an earlier change took away is
    left out)."""
    document = copy.deepcopy(document)
    for place, value in changes:
        holder: Any = document
        try:
            for key in place[:-1]:
                holder = holder[key]
            holder[place[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    return document


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
    document = _replaced(DEMO, changes)
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


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any, Any]:
    """A document sealed to one member, with that member's certificate and key."""
    from cryptography.hazmat.primitives.asymmetric import ec

    files = ca.CaFiles(tmp_path_factory.mktemp("ca") / "ca")
    ca.init_ca(files, name="内蒙古自治区科学技术厅", passphrase="a passphrase")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue_member_cert(
        files,
        passphrase="a passphrase",
        name="内蒙古大学",
        uscc="121500004600012340",
        address="0x" + "11" * 20,
        public_key=key.public_key(),
    )
    return terms.seal(b"the terms", contract="TC-1", recipients=[cert]), cert, key


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_sealed_file_with_any_field_replaced_opens_or_is_refused_in_a_sentence(
    sealed: tuple[dict[str, Any], Any, Any], data: st.DataObject
) -> None:
    document, cert, key = sealed
    changes = data.draw(st.lists(st.tuples(st.sampled_from(_paths(document)), json_values), min_size=1, max_size=2))
    try:
        opened = terms.open_sealed(_replaced(document, changes), cert=cert, key=key)
    except LedgerError as refusal:
        assert str(refusal)
    else:
        assert opened.plaintext == b"the terms"  # a change that altered nothing that counts

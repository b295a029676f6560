"""Identifiers have one spelling: what can be a contract id, payment reference or royalty period, and
what can name a key or member in a workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_utils.address import is_address
from hypothesis import given
from hypothesis import strategies as st

from ledger.chain.encoding import id_text, text_id
from ledger.config import file_name
from ledger.domain.ids import check_identifier
from ledger.domain.scenario import parse_scenario
from ledger.errors import InputError, ScenarioError
from ledger.services.payment_rows import read_rows
from tests.vectors.load import cases


@pytest.mark.parametrize("text", ["BANK-0001", "2026-Q3", "银行回单 0001", "合同（2026）1号", "x" * 32, "中" * 10])
def test_an_identifier_is_stored_as_written_and_read_back(text: str) -> None:
    assert check_identifier(text) == text
    assert id_text(text_id(text)) == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is empty"),
        (" ", "begins or ends with white space"),
        (" B1", "begins or ends with white space"),
        ("B1 ", "begins or ends with white space"),
        ("B1\u3000", "begins or ends with white space"),  # the ideographic space of a Chinese keyboard
        ("B\t1", "holds a character that does not print"),
        ("B\n1", "holds a character that does not print"),
        ("B1\u200b", "holds a character that does not print"),
        ("x" * 33, "is longer than 32 bytes"),
        ("中" * 11, "is longer than 32 bytes"),
        # BANK-1 typed with a Chinese input method's full-width letters: the same receipt, spelt twice
        ("ＢＡＮＫ－１", "is written in full-width characters; write it as BANK-1$"),
        ("ＴＣ１", "is written in full-width characters; write it as TC1$"),
    ],
)
def test_an_identifier_with_two_spellings_or_too_long_is_refused(text: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        check_identifier(text, what="payment reference")
    with pytest.raises(InputError, match=why):
        text_id(text)


def test_a_scenario_reference_with_a_trailing_space_makes_the_file_invalid() -> None:
    document = json.loads(json.dumps(cases()[2]["scenario"]))
    index, event = next((i, e) for i, e in enumerate(document["events"]) if "ref" in e)
    event["ref"] += " "
    with pytest.raises(ScenarioError, match=rf"events\[{index}\]\.ref: ref '.*' begins or ends with white space"):
        parse_scenario(document)


def test_an_import_lists_a_reference_that_does_not_print_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        "ref,contract,amount,date\n B1 ,T1,1.00,2026-03-01\nB\u200b2,T1,1.00,2026-03-01\n", encoding="utf-8"
    )
    rows, problems = read_rows(path)
    assert [r.settlement.ref for r in rows] == ["B1"]  # a cell is trimmed, as a spreadsheet shows it
    assert [
        (p.line, "payment reference 'B\\u200b2' holds a character that does not print" in p.message) for p in problems
    ] == [(3, True)]


@pytest.mark.parametrize(
    "name", ["imu", "内蒙古大学", "op-1", "0x", "0xdead", "0x" + "g" * 40, "0x" + "a" * 41, "a" * 39, "f" * 41]
)
def test_a_workspace_name_may_begin_with_0x_unless_it_reads_as_an_address(name: str) -> None:
    assert file_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "0x" + "a" * 40,
        "0X000000000000000000000000000000000000dEaD",
        "a" * 40,
        "000000000000000000000000000000000000dEaD",
    ],
)
def test_a_workspace_name_that_reads_as_an_address_is_refused(name: str) -> None:
    """A command takes a name or an address; this name would always be read as the address."""
    with pytest.raises(InputError, match="it reads as an account address"):
        file_name(name)


@pytest.mark.parametrize(("name", "plain"), [("ｉｍｕ", "imu"), ("ｏｐ－１", "op-1")])
def test_a_workspace_name_in_full_width_characters_is_told_its_half_width_spelling(name: str, plain: str) -> None:
    """Every command reads a name in half-width characters, so a key or member saved as `ｉｍｕ` could
    never be named again."""
    with pytest.raises(InputError) as refused:
        file_name(name)
    assert str(refused.value) == (
        f"{name!r} cannot name a key or member here: it is written in full-width characters; write it as {plain}"
    )


@given(st.from_regex(r"(0[xX])?[0-9a-fA-F]{38,42}", fullmatch=True))
def test_a_name_the_workspace_keeps_is_never_read_as_an_address(name: str) -> None:
    """Whatever `file_name` accepts, `Workspace.resolve` looks up in the name book rather than taking
    it for an address, so that a saved name can always be found again."""
    try:
        file_name(name)
    except InputError:
        return
    assert not is_address(name)

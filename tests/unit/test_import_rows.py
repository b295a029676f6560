"""Import rows: the direct ABI packing agrees with eth_abi; rows are parsed with their line numbers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.dates import parse_date
from ledger.domain.money import Fen
from ledger.domain.types import SettlementKind
from ledger.errors import InputError
from ledger.services.client import SettlementInput
from ledger.services.importer import RECORD_BATCH_SELECTOR, Journal, encode_batch
from ledger.services.market_state import SETTLEMENT_TYPES, pack_settlement
from ledger.services.payment_rows import ImportRefused, Problem, Row, read_rows, write_rejects

refs = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=32)
settlements = st.builds(
    SettlementInput,
    ref=refs,
    contract=refs,
    amount=st.integers(min_value=0, max_value=(1 << 48) - 1).map(Fen),
    paid_at=st.integers(min_value=0, max_value=(1 << 40) - 1),
    milestone=st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
    period=st.one_of(st.none(), refs),
    kind=st.sampled_from(list(SettlementKind)),
    evidence_hash=st.binary(min_size=32, max_size=32),
)


@given(st.lists(settlements, min_size=1, max_size=5))
def test_direct_packing_equals_eth_abi(batch: list[SettlementInput]) -> None:
    tuples = [s.as_tuple() for s in batch]
    assert pack_settlement(tuples[0]) == abi_encode(SETTLEMENT_TYPES, [tuples[0]])
    rows = [Row(i, s, {}) for i, s in enumerate(batch)]
    assert encode_batch(rows) == RECORD_BATCH_SELECTOR + abi_encode([f"{SETTLEMENT_TYPES[0]}[]"], [tuples])


def _bank_file(tmp_path: Path, text: str) -> Path:
    """A payments file holding `text` as UTF-8, as the tests below write one."""
    path = tmp_path / "bank.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    rows, problems = read_rows(
        _bank_file(
            tmp_path,
            "reference,contract,amount,date\nA,T1,1.00,2026-03-01\n\nB,T1,oops,2026-03-01\nC,T1,2.5,2026-03-01T10:00:00+08:00\n",
        )
    )
    assert [(r.line, r.settlement.ref, r.settlement.amount) for r in rows] == [(2, "A", 100), (5, "C", 250)]
    assert [(p.line, "not a decimal amount" in p.message) for p in problems] == [(4, True)]


def test_rows_of_empty_cells_a_spreadsheet_saves_are_passed_over_as_blank_lines(tmp_path: Path) -> None:
    rows, problems = read_rows(
        _bank_file(
            tmp_path,
            "\ufeffref,contract,amount,date\r\nA,T1,1.00,2026-03-01\r\n,,,\r\n , ,,\r\nB,T1,2.00,2026-03-01\r\n,,,\r\n",
        )
    )
    assert ([(r.line, r.settlement.ref) for r in rows], problems) == ([(2, "A"), (5, "B")], [])


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_by_semicolons_or_tabs_is_told_so(tmp_path: Path, separator: str, name: str) -> None:
    path = _bank_file(tmp_path, separator.join(["ref", "contract", "amount", "date"]) + "\nA;T1;1,00;2026-03-01\n")
    with pytest.raises(InputError) as refused:
        read_rows(path)
    assert str(refused.value) == (
        f'{path}: its columns are separated by {name}, not commas: save it as "CSV UTF-8" with commas between the '
        "columns"
    )


def test_csv_rows_with_too_many_or_too_few_fields(tmp_path: Path) -> None:
    rows, problems = read_rows(
        _bank_file(tmp_path, "ref,contract,amount,date\nA,T1,1.00,2026-03-01,extra\nB,T1,1.00\nC,T1,1.00,2026-03-01\n")
    )
    assert [r.settlement.ref for r in rows] == ["C"]
    assert [(p.line, p.raw["ref"]) for p in problems] == [(2, "A"), (3, "B")]
    assert "more fields than the header" in problems[0].message and "date" in problems[1].message


def test_a_cell_left_empty_is_named_as_empty(tmp_path: Path) -> None:
    lines = ["ref,contract,amount,date", ",T1,1.00,2026-03-01", "B,,1.00,2026-03-01", "C,T1,,2026-03-01", "D,T1,1.00,"]
    rows, problems = read_rows(_bank_file(tmp_path, "\n".join(lines) + "\n"))
    assert rows == []
    assert [(p.line, p.message) for p in problems] == [
        (2, "the payment reference is empty"),
        (3, "the contract id is empty"),
        (4, "the amount is empty"),
        (5, "the date is empty"),
    ]


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="^no payments file at .*bank.csv$"):
        read_rows(tmp_path / "bank.csv")
    with pytest.raises(InputError, match="^cannot read the payments file .*: Is a directory$"):
        read_rows(tmp_path)


@pytest.mark.parametrize("start", [b"PK\x03\x04\x14\x00\x06\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00"])
def test_a_workbook_is_told_to_be_saved_as_csv(tmp_path: Path, start: bytes) -> None:
    workbook = tmp_path / "bank.xlsx"
    workbook.write_bytes(start + bytes(range(256)))
    with pytest.raises(InputError) as refused:
        read_rows(workbook)
    assert str(refused.value) == (
        f'{workbook} is a spreadsheet workbook (Excel or WPS), not a CSV or JSON file: save it as "CSV UTF-8" '
        "and import that"
    )


def test_non_utf8_and_broken_json_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"ref,contract,amount,date\n\xff\xfe,1,1,1\n")
    with pytest.raises(InputError, match=r"bad.csv is not UTF-8 text \(byte 25\)$"):
        read_rows(bad)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("ref,contract,amount,date\n银行-1,技术合同-1,1.00,2026-03-01\n".encode("gbk"))
    with pytest.raises(InputError, match=r"reads as GB18030 \(GBK\).*save it as \"CSV UTF-8\""):
        read_rows(gbk)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("ref,contract,amount,date\n".encode("utf-16"))
    with pytest.raises(InputError, match="it is UTF-16 text"):
        read_rows(utf16)
    broken = tmp_path / "bad.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        read_rows(broken)


def test_json_numbers_are_read_as_written_never_through_a_float(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    amounts = ["0.1", "2814749767106.55", "1.000000000000000001", "1e3"]
    rows = [{"ref": f"J{i}", "contract": "T1", "amount": 0, "date": "2026-03-01"} for i in range(len(amounts))]
    text = json.dumps(rows)
    for amount in amounts:  # the amounts as JSON numbers, not strings
        text = text.replace('"amount": 0,', f'"amount": {amount},', 1)
    path.write_text(text, encoding="utf-8")
    good, bad = read_rows(path)
    assert [r.settlement.amount for r in good] == [10, 281_474_976_710_655]
    # a float would have made the third 1.00 yuan and the fourth 1,000.00
    assert [(p.line, p.message) for p in bad] == [
        (3, "amount '1.000000000000000001' has more than two decimal places"),
        (4, "amount '1e3' is not a decimal amount with at most two decimal places"),
    ]


def test_a_refusal_counts_its_bad_rows_in_words() -> None:
    one = ImportRefused([Problem(3, "kind must be cash or equity, not 'gold'", {})])
    assert str(one) == "1 bad row, nothing was sent:\n  line 3: kind must be cash or equity, not 'gold'"
    assert str(ImportRefused([Problem(2, "a", {}), Problem(5, "b", {})])).startswith("2 bad rows, nothing was sent:")


def test_unknown_or_repeated_columns_are_refused_but_a_reject_files_own_are_not(tmp_path: Path) -> None:
    typo = tmp_path / "typo.csv"
    typo.write_text("ref,contract,amount,date,evidance\nA,C1,1.00,2026-03-01,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="does not know: evidance"):
        read_rows(typo)
    twice = tmp_path / "twice.csv"
    twice.write_text("ref,contract,amount,amount,date\nA,C1,1.00,2.00,2026-03-01\n", encoding="utf-8")
    with pytest.raises(InputError, match="names the column.s. amount more than once"):
        read_rows(twice)
    fields = tmp_path / "fields.json"
    fields.write_text('[{"ref": "A", "contract": "C1", "amout": "1.00", "date": "2026-03-01"}]', encoding="utf-8")
    assert [p.message for p in read_rows(fields)[1]] == ["unknown field(s) amout"]
    # a reject file imports again (once corrected): its line and error columns are not data
    bad = tmp_path / "bad.csv"
    bad.write_text("ref,contract,amount,date\nA,C1,1.00,2026-03-01\nB,C1,abc,2026-03-01\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    write_rejects(rejects, read_rows(bad)[1])
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with the byte-order mark Excel and WPS read
    rows, still_bad = read_rows(rejects)
    assert not rows and [(p.line, p.raw["ref"]) for p in still_bad] == [(2, "B")]
    assert "abc" in still_bad[0].message
    rejects.write_text(rejects.read_text(encoding="utf-8").replace(",abc,", ",2.00,"), encoding="utf-8")
    rows, none = read_rows(rejects)
    assert [(r.line, r.settlement.ref, r.settlement.amount) for r in rows] == [(2, "B", 200)] and not none


def test_a_reject_file_opens_in_a_spreadsheet_without_running_formulas_and_imports_as_it_was(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        'ref,contract,amount,date\n"=HYPERLINK(""http://x"",""y"")",C1,-1,2026-03-01\n+PAY-2,C1,abc,2026-03-01\n',
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    write_rejects(rejects, read_rows(bad)[1])
    cells = list(csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8-sig"))))
    assert [(row["ref"], row["contract"], row["amount"]) for row in cells] == [
        ('\'=HYPERLINK("http://x","y")', "C1", "'-1"),
        ("'+PAY-2", "C1", "abc"),
    ]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in cells for cell in row.values())
    again = read_rows(rejects)[1]
    assert [(p.line, p.raw["ref"], p.raw["amount"]) for p in again] == [
        (2, '=HYPERLINK("http://x","y")', "-1"),
        (3, "+PAY-2", "abc"),
    ]
    # corrected in the spreadsheet (the apostrophe stays where the operator left it), it imports
    rejects.write_text(rejects.read_text(encoding="utf-8-sig").replace(",'-1,", ",1.50,"), encoding="utf-8")
    rows = read_rows(rejects)[0]
    assert [(r.settlement.ref, r.settlement.amount) for r in rows] == [('=HYPERLINK("http://x","y")', 150)]


def test_dates_as_a_spreadsheet_saves_them_are_read_and_impossible_ones_named_as_written(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "ref,contract,amount,date\n"
        "A,C1,1.00,2026/3/1\n"
        "B,C1,1.00,2026/03/01\n"
        "C,C1,1.00,2026-03-01\n"
        "D,C1,1.00,2026/2/30\n"
        "E,C1,1.00,2026/3/1 9:30\n"
        "F,C1,1.00,1999/12/31\n",
        encoding="utf-8",
    )
    rows, problems = read_rows(path)
    assert {r.settlement.paid_at for r in rows} == {parse_date("2026-03-01")} and len(rows) == 3
    assert [(p.line, p.message) for p in problems] == [
        (5, "date '2026/2/30' is not a real calendar date"),
        (6, "date '2026/3/1 9:30' is not a date (YYYY-MM-DD) or an ISO-8601 time with offset"),
        (7, "date '1999/12/31' is outside the years 2000 to 2099 that the ledger records"),
    ]


def test_references_a_spreadsheet_cut_short_are_refused_not_taken_for_one_reference(tmp_path: Path) -> None:
    path = tmp_path / "general.csv"
    path.write_text(
        "ref,contract,amount,date\n2.02603E+14,C1,1.00,2026-03-01\n2.02603E+14,C1,2.00,2026-03-01\n"
        "BANK-2E+5,C1,1.00,2026-03-01\n1E+05,C1,1.00,2026-03-01\n",
        encoding="utf-8",
    )
    rows, problems = read_rows(path)
    assert [r.settlement.ref for r in rows] == ["BANK-2E+5"]
    assert [p.line for p in problems] == [2, 3, 5]
    assert problems[0].message == (
        "payment reference '2.02603E+14' is a number a spreadsheet cut short; format the column as text, "
        "restore its digits and save again"
    )


@pytest.mark.parametrize(
    ("milestone", "message"),
    [
        *(
            (text, f"milestone must be a 0-based index, not {text!r}")
            for text in ["²", "-1", "1.0", "0x1", "1234567890"]
        ),
        ("２", "milestone '２' is written in full-width characters; write it as 2"),  # a Chinese input method's
    ],
)
def test_a_milestone_that_is_not_a_small_number_in_ascii_digits_is_a_bad_row(
    tmp_path: Path, milestone: str, message: str
) -> None:
    path = tmp_path / "m.csv"
    path.write_text(f"ref,contract,milestone,amount,date\nA,C1,{milestone},1.00,2026-03-01\n", encoding="utf-8")
    rows, problems = read_rows(path)
    assert not rows and [(p.line, p.message) for p in problems] == [(2, message)]


def test_a_journal_line_torn_by_a_crash_is_left_out(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "imports" / "j.jsonl")
    journal.write(event="start", file="银行回单.csv", rows=2)
    journal.write(event="sent", batch=0, tx="0x" + "ab" * 32)
    journal.close()
    whole = journal.path.read_bytes()
    # a crash in the middle of the next line, inside a character of the file's name
    journal.path.write_bytes(whole + b"5\n" + '{"event": "mined", "file": "银'.encode()[:-1])
    assert [e["event"] for e in journal.entries()] == ["start", "sent"]
    again = Journal(journal.path)  # the next run: its entries start on a line of their own
    again.write(event="lost", batch=0, tx="0x" + "ab" * 32)
    again.close()
    assert [e["event"] for e in again.entries()] == ["start", "sent", "lost"]


def test_an_unknown_id_is_told_the_known_ones_spelt_most_like_it() -> None:
    from ledger.format import near_misses

    assert near_misses("TC1", ["TC-1", "TC-11", "LIC-9"]) == " (did you mean TC-1 or TC-11?)"
    assert near_misses("QQQQ", ["TC-1"]) == ""
    # case is not seen when an id is retyped: `tc-1` is near `TC-1`, and ids alike but for case both show
    assert near_misses("tc-1", ["TC-1", "LIC-9"]) == " (did you mean TC-1?)"
    assert near_misses("tc-2", ["TC-2", "Tc-2"]) == " (did you mean TC-2 or Tc-2?)"

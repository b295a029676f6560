"""Text from the chain or for a spreadsheet, shown as the text it is."""

from __future__ import annotations

import pytest

from ledger.format import shown, spreadsheet_cell


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("instrument booking", "instrument booking"),
        ("仪器预约 NMR", "仪器预约 NMR"),
        ("a\nb", "a\\nb"),
        ("\x1b[2Jcleared", "\\x1b[2Jcleared"),
        ("bell\x07", "bell\\x07"),
        ("\u202eevil", "\\u202eevil"),  # right-to-left override: it would turn the rest of the line around
    ],
)
def test_text_from_the_chain_prints_without_control_characters(text: str, printed: str) -> None:
    assert shown(text) == printed


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+86 10", "'+86 10"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("BANK-0001", "BANK-0001"),
        ("仪器预约", "仪器预约"),
        (None, ""),
        (3, "3"),
    ],
)
def test_a_spreadsheet_cell_that_would_start_a_formula_is_kept_text(value: object, cell: str) -> None:
    assert spreadsheet_cell(value) == cell


@pytest.mark.parametrize(
    ("awards", "line"),
    [
        (0, "Verified: no award is due under the policy for what was recorded, and the chain issued none."),
        (
            1,
            "Verified: the 1 award, recomputed independently from the recorded settlements, attestations and "
            "policy, matches the chain.",
        ),
        (
            1500,
            "Verified: all 1,500 awards, recomputed independently from the recorded settlements, attestations and "
            "policy, match the chain.",
        ),
    ],
)
def test_a_runs_verified_line_counts_its_awards_in_words(awards: int, line: str) -> None:
    from types import SimpleNamespace

    from ledger.format import run_summary
    from ledger.services.verify import VerificationReport

    verified = VerificationReport(expected=[object()] * awards)  # only counted here
    result = SimpleNamespace(
        scenario=None, members={}, contracts={}, replayed=[], rejected=[], unregistered=[], verification=verified
    )
    assert run_summary(result).splitlines()[-1] == line


def test_a_count_of_one_is_singular() -> None:
    from ledger.format import count

    assert [count(n, "line") for n in (0, 1, 2, 1500)] == ["0 lines", "1 line", "2 lines", "1,500 lines"]
    assert count(1, "discrepancy", "discrepancies") == "1 discrepancy"
    assert count(3, "discrepancy", "discrepancies") == "3 discrepancies"

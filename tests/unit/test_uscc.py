from __future__ import annotations

import pytest

from ledger.domain.uscc import check_character, validate_uscc
from ledger.errors import CreditCodeError


@pytest.mark.parametrize(
    "code",
    [
        "91110000802100433B",  # a public code of a Beijing enterprise
        "91350100M000100Y43",  # public code with letters in the organisation part
        "121500004600012340",
    ],
)
def test_valid_codes_are_accepted(code: str) -> None:
    assert validate_uscc(code) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91110000802100433", "17 characters"),
        ("91110000802100433BX", "19 characters"),
        ("91110000802100433C", "check character 'C'"),
        ("9111000080210O433B", "letter O is never used"),
        ("9111000080210I433B", "letter I is never used"),
        ("9111000080210S433B", "letter S is never used"),
        ("9111000080210V433B", "letter V is never used"),
        ("9111000080210Z433B", "letter Z is never used"),
        ("91110000802100433b", "capitals"),
        ("9111000080210043-B", "only digits"),
        ("91AB0000802100433B", "administrative division"),
        (" 91110000802100433B", "begins or ends with white space"),
        ("91110000802100433B\t", "begins or ends with white space"),
        # typed with a Chinese input method's full-width characters
        ("９１１１００００８０２１００４３３Ｂ", "written in full-width characters; write it as 91110000802100433B$"),
    ],
)
def test_malformed_codes_are_refused_with_the_reason(code: str, reason: str) -> None:
    with pytest.raises(CreditCodeError, match=reason):
        validate_uscc(code)


def test_check_character_of_the_public_example() -> None:
    assert check_character("91110000802100433") == "B"


def test_non_text_is_refused() -> None:
    with pytest.raises(CreditCodeError):
        validate_uscc(911100008021004330)

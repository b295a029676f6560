"""A contract's terms document, as a contract file or `--terms` names it: a file, or its SHA-256 in hex."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ledger.domain.dates import parse_date
from ledger.domain.money import Fen
from ledger.domain.types import ContractKind, PaymentPlan
from ledger.errors import InputError
from ledger.files import document_sha256
from ledger.services.client import ContractInput, MilestoneInput
from ledger.services.contract_files import checked_contracts, registration_gas, registration_groups, terms_hash
from ledger.services.workspace import Workspace


def test_a_document_is_hashed_and_its_sha256_stands_for_it(tmp_path: Path) -> None:
    (tmp_path / "terms.txt").write_bytes(b"the terms")
    digest = hashlib.sha256(b"the terms").digest()
    assert document_sha256("terms.txt", "terms", base=tmp_path) == digest
    assert document_sha256(digest.hex(), "terms") == digest
    assert document_sha256("0x" + digest.hex(), "terms") == digest
    assert document_sha256(None, "terms") == b"\0" * 32  # none given: no terms hash


@pytest.mark.parametrize("named", ["missing.pdf", "x" * 5000, "a\0b"])
def test_a_contract_files_terms_naming_no_file_nor_hash_is_the_files_fault(tmp_path: Path, named: str) -> None:
    with pytest.raises(InputError) as refused:
        terms_hash(None, named, "contracts.json[0]", tmp_path)
    assert str(refused.value).startswith(f"contracts.json[0].terms: {named!r} is neither a file in {tmp_path}/")


def _contract(contract_id: str, milestones: int) -> ContractInput:
    return ContractInput(
        id=contract_id,
        kind=ContractKind.TRANSFER,
        plan=PaymentPlan.STAGED,
        seller="",
        buyer="",
        signed=parse_date("2026-02-01"),
        milestones=tuple(MilestoneInput("stage", Fen(100), parse_date("2026-06-30")) for _ in range(milestones)),
    )


def test_contracts_are_grouped_in_order_within_the_gas() -> None:
    contracts = [_contract(f"C{n}", milestones=n % 4 + 1) for n in range(40)]
    gas = 3 * registration_gas(_contract("x", milestones=4))
    groups = registration_groups(contracts, gas=gas)
    assert [c for group in groups for c in group] == contracts
    assert all(sum(map(registration_gas, group)) <= gas for group in groups)
    # each group full: the next contract would not have fitted
    full = zip(groups, groups[1:], strict=False)
    assert all(sum(map(registration_gas, group)) + registration_gas(after[0]) > gas for group, after in full)
    assert registration_gas(_contract("x", milestones=2)) > registration_gas(_contract("x", milestones=1))


def test_a_contract_above_the_gas_of_a_group_goes_alone() -> None:
    big, small = _contract("BIG", milestones=50), _contract("S", milestones=1)
    gas = registration_gas(big) - 1
    assert registration_groups([small, big, small], gas=gas) == [[small], [big], [small]]
    assert registration_groups([], gas=gas) == []


class _IndexUnread:
    """A workspace whose local index may not be read: a file with no valid contract is refused as it is."""

    session = SimpleNamespace(now=lambda: 0)

    def recorded_events(self, *patterns: Any) -> None:
        raise AssertionError("the local index was read for a file with no contract to compare")


def test_a_file_of_invalid_entries_is_refused_without_reading_the_chain() -> None:
    with pytest.raises(InputError) as refused:
        checked_contracts(cast(Workspace, _IndexUnread()), [1, "TC-1"], file="contracts.json")
    assert str(refused.value) == (
        "2 of the 2 contracts in contracts.json cannot be registered, so none was sent:"
        "\n  contracts.json[0]: a contract is a JSON object, not int"
        "\n  contracts.json[1]: a contract is a JSON object, not str"
    )

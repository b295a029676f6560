"""A contract's terms document, as a contract file or `--terms` names it: a file, or its SHA-256 in hex."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.errors import InputError
from ledger.files import document_sha256
from ledger.services.contract_files import terms_hash


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

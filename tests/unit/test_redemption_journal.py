"""The redemption journal a run leaves when interrupted: read whole, or named in a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.errors import InputError
from ledger.services.redemption import _read

ENTRY = {
    "points": 10_000,
    "purpose": "instrument booking",
    "sender": "0x" + "11" * 20,
    "tx": {"to": "0x" + "22" * 20, "data": "0x1234", "nonce": 3},
    "raw": "0x" + "ab" * 40,
    "hash": "0x" + "cd" * 32,
}


def test_a_journaled_redemption_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(ENTRY), encoding="utf-8")
    assert _read(path) == ENTRY
    assert _read(tmp_path / "none.json") is None


@pytest.mark.parametrize(
    "change",
    [{"points": "100"}, {"purpose": None}, {"tx": []}, {"tx": {"data": 5}}, {"raw": "0xzz"}, {"hash": None}],
)
def test_a_journal_edited_out_of_shape_is_named_in_a_sentence(tmp_path: Path, change: dict[str, object]) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**ENTRY, **change}), encoding="utf-8")
    with pytest.raises(InputError, match="cannot be read: see in `ledger points history` whether"):
        _read(path)


@pytest.mark.parametrize("text", ["[]", "{", "5"])
def test_a_journal_that_is_no_entry_is_named_in_a_sentence(tmp_path: Path, text: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="cannot be read"):
        _read(path)


def test_a_redemption_journaled_for_an_earlier_deployment_is_not_finished_on_its_contract(tmp_path: Path) -> None:
    """After `ledger deploy --force`, the journaled bytes would redeem on the old points contract: the
    command says so instead of sending them."""
    from types import SimpleNamespace
    from typing import Any, cast

    from ledger.domain.money import Centipoints
    from ledger.services.redemption import redeem_once

    path = tmp_path / "r.json"
    path.write_text(json.dumps(ENTRY), encoding="utf-8")
    client = cast(Any, SimpleNamespace(addresses={"Points": "0x" + "33" * 20}))
    with pytest.raises(InputError) as refused:
        redeem_once(client, cast(Any, None), points=Centipoints(10_000), purpose="instrument booking", journal=path)
    assert str(refused.value) == (
        f"the redemption journal {path} holds an interrupted redemption for the points contract at "
        f"0x{'22' * 20}, of an earlier deployment, not 0x{'33' * 20}: see whether it went through there, then "
        "delete the journal"
    )
    assert path.exists()  # nothing sent, nothing cleared

"""Redeeming points exactly once, however the command ends.

A redemption carries no reference by which the chain could tell a resend from a second redemption:
run again after a crash or a lost connection, the same command would sign another one and burn the
points twice. So the signed transaction is written to a journal (one file per member) before it is
sent. The command run again finds it and finishes it, sending the same bytes again if the node does
not have them (one transaction hash: mined at most once) and waiting for the receipt, instead of
signing another; the journal is cleared once the outcome is known. A redemption whose nonce another
transaction of the member took can never be mined: the journal is cleared and a new one is signed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.chain.session import NONCE_ATTEMPTS, NodeRefused, Prepared, Superseded
from ledger.domain.money import Centipoints, readable_points
from ledger.errors import ChainError, ContractError, InputError, TransactionFailed
from ledger.services.client import LedgerClient


def redeem_once(
    client: LedgerClient, signer: LocalAccount, *, points: Centipoints, purpose: str, journal: Path
) -> bool:
    """Redeem `points` of the signer's own for `purpose`, or finish the same redemption an interrupted
    run journaled (see the module docstring); returns whether it finished one (no new one was signed).
    A different redemption while one is unfinished is refused: its transaction may still be mined."""
    pending = _read(journal)
    if pending is not None:
        journaled_to, points_contract = str(pending["tx"].get("to", "")), client.addresses["Points"]
        if journaled_to.lower() != points_contract.lower():  # `ledger deploy --force` came in between
            raise InputError(
                f"the redemption journal {journal} holds an interrupted redemption for the points contract at "
                f"{journaled_to}, of an earlier deployment, not {points_contract}: see whether it went through "
                "there, then delete the journal"
            )
        earlier = Centipoints(pending["points"]), pending["purpose"]
        if earlier != (points, purpose):
            raise InputError(
                f"an earlier redemption of {readable_points(earlier[0])} points for {earlier[1]!r} was "
                "interrupted: run that command again to finish it, then this one"
            )
        try:
            _finish(client, _prepared(pending), journal)
            return True
        except Superseded:
            journal.unlink()  # never mined, and now it never can be: redeem anew
    for _ in range(NONCE_ATTEMPTS):
        to, data = client.redeem_call(signer.address, points=points, purpose=purpose)
        prepared = client.session.prepare(signer, to=to, data=data)  # estimated first: a refusal raises here
        _write(journal, prepared, points=points, purpose=purpose)
        try:
            _finish(client, prepared, journal)
            return False
        except Superseded:  # another command signing for the member took the nonce: sign again
            journal.unlink()
            client.session.forget_nonce(signer.address)
    raise ChainError("other transactions of the member kept taking this one's nonce; run it again")


def _finish(client: LedgerClient, prepared: Prepared, journal: Path) -> None:
    """Send the signed redemption (again: the same bytes, one hash) and await it; the journal is cleared
    once the outcome is known, mined or refused. A lost connection leaves it for the next run."""
    try:
        client.session.submit(prepared)
    except NodeRefused:
        journal.unlink()  # the node will not take it: it was never sent
        raise
    try:
        client.session.await_mined(prepared)
    except (ContractError, TransactionFailed):
        journal.unlink()  # mined, and refused: nothing was redeemed, and nothing is pending
        raise
    journal.unlink()


def _write(journal: Path, prepared: Prepared, *, points: int, purpose: str) -> None:
    """The signed redemption, on disk before it is sent (written whole, then moved into place)."""
    tx = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in prepared.tx.items()}
    entry = {
        "points": points,
        "purpose": purpose,
        "sender": prepared.sender,
        "tx": tx,
        "raw": "0x" + prepared.raw.hex(),
        "hash": "0x" + prepared.tx_hash.hex(),
    }
    journal.parent.mkdir(parents=True, exist_ok=True)
    partial = journal.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(entry, handle)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(journal)


def _read(journal: Path) -> dict[str, Any] | None:
    """The redemption a run journaled and did not finish, checked whole (else a sentence saying what to do)."""
    if not journal.exists():
        return None
    try:
        entry: dict[str, Any] = json.loads(journal.read_text(encoding="utf-8"))
        _prepared(entry)  # every field there, of its type
        if not isinstance(entry["points"], int) or not isinstance(entry["purpose"], str):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"the redemption journal {journal} cannot be read: see in `ledger points history` whether the "
            "redemption it held went through, then delete it"
        ) from None
    return entry


def _prepared(entry: dict[str, Any]) -> Prepared:
    tx = dict(entry["tx"])
    tx["data"] = bytes.fromhex(tx["data"].removeprefix("0x"))
    return Prepared(
        sender=entry["sender"],
        tx=tx,
        raw=bytes.fromhex(entry["raw"].removeprefix("0x")),
        tx_hash=bytes.fromhex(entry["hash"].removeprefix("0x")),
    )

"""The accounts `ledger export besu-allowlist` admits, read from the chain."""

from __future__ import annotations

from ledger.services.allowlist import admitted_accounts
from tests.chain.conftest import World


def test_the_regulator_active_members_and_operators_in_office_are_admitted(world: World) -> None:
    w = world
    second = w.session.new_account("second-operator")
    removed = w.session.new_account("removed-operator")
    w.client.appoint_operator(w.regulator, second.address)
    w.client.appoint_operator(w.regulator, removed.address)
    w.client.remove_operator(w.regulator, removed.address)
    w.client.suspend(w.regulator, w.lab.address)
    admitted = [w.regulator, w.operator, second, w.uni, w.firm, w.agent]
    assert admitted_accounts(w.client, regulator=w.regulator.address, from_block=0) == sorted(
        a.address.lower() for a in admitted
    )
    w.client.reinstate(w.regulator, w.lab.address)
    w.client.appoint_operator(w.regulator, removed.address)  # appointed again after its removal
    again = admitted_accounts(w.client, regulator=w.regulator.address, from_block=0)
    assert again == sorted(a.address.lower() for a in [*admitted, w.lab, removed])

"""The accounts `ledger export besu-allowlist` admits: the regulator, the operators in office it is
given (`Workspace.operators`, tested with `ledger operator list` in tests/cli/test_node.py) and the
active members, read from the chain."""

from __future__ import annotations

from ledger.services.allowlist import admitted_accounts
from tests.chain.conftest import World


def test_the_regulator_the_operators_and_the_active_members_are_admitted(world: World) -> None:
    w = world
    second = w.session.new_account("second-operator")
    w.client.suspend(w.regulator, w.lab.address)
    operators = [w.operator.address, second.address]
    admitted = admitted_accounts(w.client, regulator=w.regulator.address, operators=operators)
    assert admitted == sorted(a.address.lower() for a in [w.regulator, w.operator, second, w.uni, w.firm, w.agent])
    w.client.reinstate(w.regulator, w.lab.address)
    again = admitted_accounts(w.client, regulator=w.regulator.address, operators=operators)
    assert again == sorted([*admitted, w.lab.address.lower()])

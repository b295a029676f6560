"""Every role x every write action: allowed, or refused with its named error and nothing mined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.encoding import text_id
from ledger.domain.dates import parse_date
from ledger.domain.money import Centipoints, Fen
from ledger.domain.policy import load_policy
from ledger.domain.types import AppointmentTitle, MemberKind
from ledger.errors import ContractError
from ledger.services.client import SettlementInput
from tests.chain.conftest import World, lump_transfer

ROLES = ("regulator", "operator", "member", "outsider")
Action = Callable[[World, LocalAccount], Any]


def _signer(world: World, role: str) -> LocalAccount:
    return {"regulator": world.regulator, "operator": world.operator, "member": world.uni, "outsider": world.outsider}[
        role
    ]


def _give_uni_points(world: World) -> None:
    world.client.attest_appointment(
        world.operator,
        member=world.uni.address,
        title=AppointmentTitle.TECH_VICE_PRESIDENT,
        at=parse_date("2026-03-01"),
    )


ACTIONS: dict[str, Action] = {
    "enrol": lambda w, s: w.client.enrol(
        s, account=w.outsider.address, kind=MemberKind.ENTERPRISE, in_region=True, uscc="91110000802100433B"
    ),
    "suspend": lambda w, s: w.client.suspend(s, w.firm.address),
    "reinstate": lambda w, s: (w.client.suspend(w.regulator, w.firm.address), w.client.reinstate(s, w.firm.address)),
    "appoint operator": lambda w, s: w.client.appoint_operator(s, w.outsider.address),
    "remove operator": lambda w, s: w.client.remove_operator(s, w.operator.address),
    "publish policy": lambda w, s: w.client.publish_document(s, load_policy()),
    "register instrument": lambda w, s: w.client.register_instrument(
        s, instrument_id="XRD-1", provider=w.lab.address, original_value=Fen(20_000_000)
    ),
    "register contract": lambda w, s: w.client.register_contract(s, lump_transfer(w)),
    "register contracts": lambda w, s: w.client.register_contracts(s, [lump_transfer(w), lump_transfer(w, id="C10")]),
    "achieve milestone": lambda w, s: w.client.achieve_milestone(
        s, contract="C1", index=0, at=parse_date("2026-03-01")
    ),
    "report revenue": lambda w, s: w.client.report_revenue(
        s, contract="L1", period="2026-Q1", revenue=Fen(1), at=parse_date("2026-04-01")
    ),
    "record settlement": lambda w, s: (
        w.client.achieve_milestone(w.operator, contract="C1", index=0, at=parse_date("2026-03-01")),
        w.client.settle(
            s, SettlementInput(ref="P1", contract="C1", milestone=0, amount=Fen(100), paid_at=parse_date("2026-03-02"))
        ),
    ),
    "attest startup revenue": lambda w, s: w.client.attest_startup_revenue(
        s, member=w.firm.address, year=2026, revenue=Fen(30_000_000), at=parse_date("2026-05-01")
    ),
    "attest appointment": lambda w, s: w.client.attest_appointment(
        s, member=w.uni.address, title=AppointmentTitle.INDUSTRY_PROFESSOR, at=parse_date("2026-05-01")
    ),
    "redeem own points": lambda w, s: (_give_uni_points(w), w.client.redeem(s, points=Centipoints(100), purpose="x")),
    "wire ledger again": lambda w, s: w.session.transact(
        s, w.client.contracts.registry.functions.wireLedger(w.outsider.address)
    ),
    "issue points directly": lambda w, s: w.session.transact(
        s, w.client.contracts.points.functions.issue(s.address, 1, text_id("R11-LANDING"), 1, text_id("forged"))
    ),
    "apply payment directly": lambda w, s: w.session.transact(
        s, w.client.contracts.registry.functions.applyPayment(text_id("C1"), 0, b"\0" * 32, 1, parse_date("2026-03-02"))
    ),
    "transfer points": lambda w, s: w.session.transact(
        s, w.client.contracts.points.functions.transfer(w.firm.address, 1)
    ),
}

OPERATOR_ONLY = {
    "register instrument",
    "register contract",
    "register contracts",
    "achieve milestone",
    "report revenue",
    "record settlement",
    "attest startup revenue",
    "attest appointment",
}
REGULATOR_ONLY = {"enrol", "suspend", "reinstate", "appoint operator", "remove operator"}


def expected(action: str, role: str) -> str | None:
    """None when allowed, else the name of the error the contracts must give."""
    if action in REGULATOR_ONLY:
        return None if role == "regulator" else "AccessControlUnauthorizedAccount"
    if action == "publish policy":
        return None if role == "regulator" else "CallerNotRegulator"
    if action in OPERATOR_ONLY:
        return None if role == "operator" else "CallerNotOperator"
    if action == "redeem own points":
        return None if role == "member" else "MemberNotActive"
    if action == "wire ledger again":
        return "AlreadyWired" if role == "regulator" else "CallerNotRegulator"
    if action in ("issue points directly", "apply payment directly"):
        return "CallerNotLedger"
    if action == "transfer points":
        return "PointsNotTransferable"
    raise AssertionError(action)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_may_or_may_not_act(world: World, action: str, role: str) -> None:
    signer = _signer(world, role)
    want = expected(action, role)
    if want is None:
        ACTIONS[action](world, signer)
        return
    if action in ("reinstate", "record settlement", "redeem own points"):
        # the setup part runs as the right role; only the final call is the one under test
        try:
            ACTIONS[action](world, signer)
        except ContractError as exc:
            assert exc.name == want, str(exc)
            return
        pytest.fail(f"{role} could {action}")
    block = world.session.w3.eth.block_number
    with pytest.raises(ContractError) as caught:
        ACTIONS[action](world, signer)
    assert caught.value.name == want, str(caught.value)
    assert world.session.w3.eth.block_number == block, "a refused call must not be mined"
    assert "0x" + "00" * 4 not in str(caught.value)

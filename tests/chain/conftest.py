"""One deployment per test module on eth-tester; each test runs in a snapshot that is reverted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.deploy import deploy_all
from ledger.chain.session import ChainSession
from ledger.domain.dates import parse_date
from ledger.domain.money import Fen
from ledger.domain.policy import load_policy
from ledger.domain.types import ContractKind, MemberKind, PaymentPlan
from ledger.services.client import ContractInput, LedgerClient, MilestoneInput

USCC = {
    "uni": "121500004600012340",
    "firm": "91150200114123456M",
    "lab": "12150000MB0987654L",
    "agent": "91150102MA0R54321E",
}


@dataclass
class World:
    session: ChainSession
    client: LedgerClient
    regulator: LocalAccount
    operator: LocalAccount
    uni: LocalAccount
    firm: LocalAccount
    lab: LocalAccount
    agent: LocalAccount
    outsider: LocalAccount


STAGED = ContractInput(
    id="C1",
    kind=ContractKind.TRANSFER,
    plan=PaymentPlan.STAGED,
    seller="",
    buyer="",
    signed=parse_date("2026-02-01"),
    milestones=(
        MilestoneInput("design", Fen(150_000_000), parse_date("2026-05-31")),
        MilestoneInput("delivery", Fen(100_000_000), parse_date("2026-09-30")),
    ),
)


ROYALTY = ContractInput(
    id="L1",
    kind=ContractKind.LICENSE,
    plan=PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY,
    seller="",
    buyer="",
    signed=parse_date("2026-02-01"),
    royalty_bps=300,
    milestones=(MilestoneInput("pilot", Fen(100_000_000), parse_date("2026-06-30")),),
)


def lump_transfer(w: World, **changes: Any) -> ContractInput:
    """Contract C9: a lump-sum transfer from the university to the firm, one milestone of 100 fen
    (`changes` replace any field)."""
    base = ContractInput(
        id="C9",
        kind=ContractKind.TRANSFER,
        plan=PaymentPlan.LUMP_SUM,
        seller=w.uni.address,
        buyer=w.firm.address,
        signed=parse_date("2026-02-01"),
        milestones=(MilestoneInput("all", Fen(100), parse_date("2026-03-01")),),
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def base_world() -> World:
    session = ChainSession.embedded()
    regulator = session.new_account("regulator")
    operator = session.new_account("operator")
    accounts = {name: session.new_account(name) for name in ("uni", "firm", "lab", "agent", "outsider")}
    _, contracts = deploy_all(session, regulator)
    client = LedgerClient(session, contracts)
    client.publish_document(regulator, load_policy())
    client.appoint_operator(regulator, operator.address)
    kinds = {
        "uni": MemberKind.UNIVERSITY,
        "firm": MemberKind.ENTERPRISE,
        "lab": MemberKind.INSTRUMENT_PROVIDER,
        "agent": MemberKind.BROKER,
    }
    for name, kind in kinds.items():
        client.enrol(regulator, account=accounts[name].address, kind=kind, in_region=True, uscc=USCC[name])
    client.register_instrument(
        operator, instrument_id="NMR-1", provider=accounts["lab"].address, original_value=Fen(150_000_000)
    )
    client.register_contract(
        operator,
        ContractInput(
            **{
                **STAGED.__dict__,
                "seller": accounts["uni"].address,
                "buyer": accounts["firm"].address,
                "broker": accounts["agent"].address,
            }
        ),
    )
    client.register_contract(
        operator,
        ContractInput(**{**ROYALTY.__dict__, "seller": accounts["uni"].address, "buyer": accounts["firm"].address}),
    )
    return World(session, client, regulator, operator, **accounts)


@pytest.fixture
def world(base_world: World) -> Iterator[World]:
    snapshot = base_world.session.snapshot()
    yield base_world
    base_world.session.revert(snapshot)

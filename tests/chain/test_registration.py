"""Contracts registered together: one transaction, all or none, within the gas the client plans for."""

from __future__ import annotations

from web3.logs import DISCARD

from ledger.chain.encoding import text_id
from ledger.domain.dates import parse_date
from ledger.domain.money import Fen
from ledger.domain.types import MemberKind, MemberStatus
from ledger.services.client import Enrolment, MilestoneInput
from ledger.services.contract_files import registration_gas, registration_groups
from tests.chain.conftest import USCC, World, lump_transfer
from tests.chain.test_refusals import refuse


def test_contracts_registered_together_are_all_or_nothing(world: World) -> None:
    first, second = lump_transfer(world, id="G1"), lump_transfer(world, id="G2", buyer=world.uni.address)
    refuse(world, lambda: world.client.register_contracts(world.operator, [first, second]), "SellerIsBuyer")
    refuse(world, lambda: world.client.contract_view("G1"), "UnknownContract")  # the first was undone too
    refuse(
        world,
        lambda: world.client.register_contracts(world.operator, [first, first]),
        "ContractAlreadyRegistered",
        contractId=text_id("G1"),
    )
    sent = world.client.register_contracts(world.operator, [first, lump_transfer(world, id="G2")])
    assert [world.client.contract_view(c)["value"] for c in ("G1", "G2")] == [100, 100]
    registered = world.client.contracts.registry.events.ContractRegistered().process_receipt(sent.receipt, DISCARD)
    assert [e["args"]["contractId"] for e in registered] == [text_id("G1"), text_id("G2")]


def test_a_group_uses_no_more_gas_than_the_client_plans_for_it(world: World) -> None:
    """The bounds that group contracts into transactions hold for contracts with a broker, many
    milestones and long titles in Chinese (so a planned group never runs out of gas)."""
    titles = ["试点", "中试生产线建设与验收" * 12, "x"]
    contracts = [
        lump_transfer(
            world,
            id=f"H{n}",
            broker=world.agent.address,
            milestones=tuple(
                MilestoneInput(titles[m % 3], Fen(100 + m), parse_date("2026-03-01")) for m in range(n % 7 + 1)
            ),
        )
        for n in range(12)
    ]
    bound = sum(registration_gas(c) for c in contracts)
    (group,) = registration_groups(contracts, gas=bound)
    assert world.client.register_contracts(world.operator, group).gas_used <= bound
    alone = lump_transfer(world, id="H99", broker=world.agent.address)
    assert world.client.register_contract(world.operator, alone).gas_used <= registration_gas(alone)


def test_enrolments_and_instruments_sent_together_are_all_or_nothing(world: World) -> None:
    """`ChainSession.transact_all` (a scenario's members, then its instruments): on the embedded chain,
    which mines each as it arrives, a refused call undoes those before it."""
    lab = world.lab.address
    first, below = ("SHARED-1", lab, Fen(10_000_000)), ("SHARED-2", lab, Fen(9_999_999))
    refuse(
        world,
        lambda: world.client.register_instruments(world.operator, [first, below]),
        "InstrumentBelowSharingThreshold",
    )
    refuse(world, lambda: world.client.instrument("SHARED-1"), "UnknownInstrument")  # the first was undone too
    newcomers = [world.session.new_account(f"newcomer-{n}") for n in range(2)]
    enrolments = [
        Enrolment(account=a.address, kind=MemberKind.INDIVIDUAL, in_region=True, uscc=None) for a in newcomers
    ]
    again = Enrolment(account=world.uni.address, kind=MemberKind.UNIVERSITY, in_region=True, uscc=USCC["uni"])
    refuse(world, lambda: world.client.enrol_all(world.regulator, [*enrolments, again]), "MemberAlreadyEnrolled")
    assert world.client.member(newcomers[0].address).status == MemberStatus.NONE  # the first was undone too
    sent = world.client.enrol_all(world.regulator, enrolments)
    assert len(sent) == 2 and [world.client.member(a.address).kind for a in newcomers] == [MemberKind.INDIVIDUAL] * 2
    world.client.register_instruments(world.operator, [first])
    assert world.client.instrument("SHARED-1") == (lab, Fen(10_000_000))

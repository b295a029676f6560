"""Every refusal of SPEC §6: the exact error with its arguments, a readable sentence, nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.chain.encoding import text_id
from ledger.domain.dates import parse_date
from ledger.domain.money import Centipoints, Fen
from ledger.domain.types import AppointmentTitle, ContractKind, MemberKind, PaymentPlan
from ledger.errors import ContractError
from ledger.services.client import MilestoneInput, SettlementInput
from tests.chain.conftest import World, lump_transfer

D = parse_date


def _pay(
    w: World,
    ref: str = "P1",
    *,
    contract: str = "C1",
    milestone: int | None = 0,
    amount: int = 100,
    at: str = "2026-03-02",
) -> Any:
    return w.client.settle(
        w.operator, SettlementInput(ref=ref, contract=contract, milestone=milestone, amount=Fen(amount), paid_at=D(at))
    )


def _achieve(w: World, index: int = 0) -> None:
    w.client.achieve_milestone(w.operator, contract="C1", index=index, at=D("2026-03-01"))


def refuse(w: World, action: Callable[[], Any], name: str, **arguments: Any) -> ContractError:
    block = w.session.w3.eth.block_number
    with pytest.raises(ContractError) as caught:
        action()
    error = caught.value
    assert error.name == name, str(error)
    for key, value in arguments.items():
        assert error.arguments[key] == value, (key, error.arguments)
    assert w.session.w3.eth.block_number == block, "nothing may be mined for a refusal"
    assert "execution reverted" not in str(error) and "\\x" not in str(error)
    return error


def test_unknown_member_cannot_be_suspended(world: World) -> None:
    refuse(
        world,
        lambda: world.client.suspend(world.regulator, world.outsider.address),
        "UnknownMember",
        account=world.outsider.address,
    )


def test_contract_party_must_be_a_member(world: World) -> None:
    error = refuse(
        world,
        lambda: world.client.register_contract(world.operator, lump_transfer(world, buyer=world.outsider.address)),
        "NotAMember",
        account=world.outsider.address,
    )
    assert "outsider is not a member" in str(error)


def test_unknown_contract(world: World) -> None:
    error = refuse(world, lambda: _pay(world, contract="NOPE"), "UnknownContract", contractId=text_id("NOPE"))
    assert str(error) == "there is no contract NOPE"


def test_unknown_milestone(world: World) -> None:
    refuse(world, lambda: _pay(world, milestone=5), "UnknownMilestone", contractId=text_id("C1"), index=5)


def test_unknown_instrument(world: World) -> None:
    refuse(
        world,
        lambda: world.client.register_contract(
            world.operator,
            lump_transfer(world, kind=ContractKind.SERVICE, seller=world.lab.address, instrument="XRD-9"),
        ),
        "UnknownInstrument",
        instrumentId=text_id("XRD-9"),
    )


def test_duplicate_reference_with_other_data_is_refused(world: World) -> None:
    _achieve(world)
    _pay(world, amount=100)
    error = refuse(world, lambda: _pay(world, amount=200), "DuplicatePayment", ref=text_id("P1"))
    assert str(error) == "payment reference P1 was already recorded with different data"


def test_identical_resend_is_a_harmless_replay(world: World) -> None:
    _achieve(world)
    first = _pay(world, amount=100)
    balance = world.client.balance(world.agent.address)
    again = _pay(world, amount=100)
    assert not first.replayed and again.replayed
    assert [e.name for e in again.events] == ["SettlementReplayed"]
    assert world.client.balance(world.agent.address) == balance
    assert world.client.milestone("C1", 0).paid == 100


def test_zero_amount(world: World) -> None:
    _achieve(world)
    refuse(world, lambda: _pay(world, amount=0), "ZeroAmount")


def test_amount_above_what_is_still_due(world: World) -> None:
    _achieve(world)
    _pay(world, "P1", amount=149_000_000)
    error = refuse(
        world, lambda: _pay(world, "P2", amount=1_000_001), "AmountExceedsDue", amount=1_000_001, outstanding=1_000_000
    )
    assert "10,000.01 yuan is more than the 10,000.00 yuan still due on milestone 0 of contract C1" in str(error)


def test_payment_against_milestone_not_achieved(world: World) -> None:
    refuse(world, lambda: _pay(world), "MilestoneNotAchieved", contractId=text_id("C1"), index=0)


def test_payment_dated_in_the_future(world: World) -> None:
    _achieve(world)
    refuse(world, lambda: _pay(world, at="2099-01-01"), "DatedInFuture", date=D("2099-01-01"))


def test_payment_dated_before_signing(world: World) -> None:
    _achieve(world)
    error = refuse(
        world,
        lambda: _pay(world, at="2026-01-31"),
        "PaymentBeforeSigning",
        paidAt=D("2026-01-31"),
        signedAt=D("2026-02-01"),
    )
    # dates at Beijing midnight read as dates
    assert str(error) == "the payment is dated 2026-01-31, before contract C1 was signed (2026-02-01)"


def test_milestone_achieved_before_signing(world: World) -> None:
    error = refuse(
        world,
        lambda: world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-01-31")),
        "DatedBeforeSigning",
        date=D("2026-01-31"),
        signedAt=D("2026-02-01"),
    )
    assert str(error) == "the date 2026-01-31 is before contract C1 was signed (2026-02-01)"
    # the day of signing itself is allowed
    world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-02-01"))
    assert world.client.milestone("C1", 0).achieved


def test_revenue_reported_before_signing(world: World) -> None:
    refuse(
        world,
        lambda: world.client.report_revenue(
            world.operator, contract="L1", period="2025-Q4", revenue=Fen(1), at=D("2026-01-31")
        ),
        "DatedBeforeSigning",
        contractId=text_id("L1"),
        date=D("2026-01-31"),
    )


def test_suspended_party_cannot_join_a_new_contract(world: World) -> None:
    world.client.suspend(world.regulator, world.firm.address)
    refuse(
        world,
        lambda: world.client.register_contract(world.operator, lump_transfer(world)),
        "PartySuspended",
        account=world.firm.address,
    )


def test_suspended_member_settlement_is_recorded_without_its_points(world: World) -> None:
    world.client.suspend(world.regulator, world.agent.address)
    _achieve(world)
    outcome = _pay(world, amount=1_000_000)
    assert "SettlementRecorded" in [e.name for e in outcome.events]
    assert "PointsIssued" not in [e.name for e in outcome.events]
    assert world.client.balance(world.agent.address) == 0
    assert world.client.suspended_parties("C1") == [world.agent.address]
    world.client.reinstate(world.regulator, world.agent.address)
    assert world.client.suspended_parties("C1") == []


def test_seller_equal_to_buyer(world: World) -> None:
    refuse(
        world,
        lambda: world.client.register_contract(world.operator, lump_transfer(world, buyer=world.uni.address)),
        "SellerIsBuyer",
        account=world.uni.address,
    )


def test_contract_signed_after_the_chains_clock(world: World) -> None:
    signed = D("2099-01-01")
    milestones = (MilestoneInput("all", Fen(100), D("2099-06-01")),)
    contract = lump_transfer(world, signed=signed, milestones=milestones)
    refuse(world, lambda: world.client.register_contract(world.operator, contract), "DatedInFuture", date=signed)


@pytest.mark.parametrize("party", ["seller", "buyer"])
def test_broker_is_a_party(world: World, party: str) -> None:
    """A party as its own broker would earn clause 16 on its own deal."""
    account = world.uni.address if party == "seller" else world.firm.address
    error = refuse(
        world,
        lambda: world.client.register_contract(world.operator, lump_transfer(world, broker=account)),
        "BrokerIsAParty",
        account=account,
    )
    assert str(error) == f"contract C9 names {world.client.session.name_of(account)} both as a party and as its broker"


def test_shared_instrument_below_sharing_threshold(world: World) -> None:
    error = refuse(
        world,
        lambda: world.client.register_instrument(
            world.operator, instrument_id="PH-1", provider=world.lab.address, original_value=Fen(9_999_999)
        ),
        "InstrumentBelowSharingThreshold",
        originalValue=9_999_999,
        minimum=10_000_000,
    )
    assert "99,999.99 yuan" in str(error) and "100,000.00 yuan" in str(error)


def test_service_seller_must_be_the_instrument_provider(world: World) -> None:
    refuse(
        world,
        lambda: world.client.register_contract(
            world.operator, lump_transfer(world, kind=ContractKind.SERVICE, instrument="NMR-1")
        ),
        "SellerNotInstrumentProvider",
        seller=world.uni.address,
        provider=world.lab.address,
    )


def test_zero_upfront_plan_with_milestone_due_at_signing(world: World) -> None:
    refuse(
        world,
        lambda: world.client.register_contract(
            world.operator,
            lump_transfer(
                world,
                kind=ContractKind.LICENSE,
                plan=PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY,
                milestones=(MilestoneInput("upfront", Fen(100), D("2026-02-01")),),
            ),
        ),
        "ZeroUpfrontMilestoneAtSigning",
        index=0,
    )


def test_startup_attestation_for_a_non_enterprise(world: World) -> None:
    refuse(
        world,
        lambda: world.client.attest_startup_revenue(
            world.operator, member=world.uni.address, year=2026, revenue=Fen(30_000_000), at=D("2026-05-01")
        ),
        "NotAnEnterprise",
        member=world.uni.address,
    )


@pytest.mark.parametrize(
    ("year", "at"),
    [(2026, "2025-12-31T15:59:59+00:00"), (2031, "2026-05-01")],  # 23:59:59 on 31 December in Beijing: still 2025
)
def test_startup_revenue_of_a_year_not_begun_on_its_date(world: World, year: int, at: str) -> None:
    from ledger.domain.dates import parse_instant

    error = refuse(
        world,
        lambda: world.client.attest_startup_revenue(
            world.operator, member=world.firm.address, year=year, revenue=Fen(30_000_000), at=parse_instant(at)
        ),
        "RevenueYearAhead",
        year=year,
        at=parse_instant(at),
    )
    assert str(error).endswith("that year has not begun")


def test_startup_revenue_of_the_year_of_its_date_is_attested(world: World) -> None:
    outcome = world.client.attest_startup_revenue(
        world.operator, member=world.firm.address, year=2026, revenue=Fen(30_000_000), at=D("2026-01-01")
    )
    assert not outcome.replayed  # Beijing midnight on 1 January: 2026 has begun


def test_redeeming_more_points_than_held(world: World) -> None:
    world.client.attest_appointment(
        world.operator, member=world.uni.address, title=AppointmentTitle.INDUSTRY_PROFESSOR, at=D("2026-05-01")
    )
    error = refuse(
        world,
        lambda: world.client.redeem(world.uni, points=Centipoints(500_001), purpose="booking"),
        "InsufficientPoints",
        balance=500_000,
        requested=500_001,
    )
    assert "holds 5,000.00 points and cannot redeem 5,000.01" in str(error)


def test_policy_version_may_not_be_retroactive(world: World) -> None:
    _achieve(world)
    _pay(world, at="2026-06-01")
    params = world.client.rule_history("R11-LANDING")[-1]
    from dataclasses import replace

    earlier = replace(params, effective_from=D("2026-05-31"))
    refuse(
        world,
        lambda: world.client.publish_rules(world.regulator, source_hash=b"\1" * 32, rules={"R11-LANDING": earlier}),
        "PolicyRetroactive",
        effectiveFrom=D("2026-05-31"),
        latestRecorded=D("2026-06-01"),
    )


def test_batch_is_all_or_nothing(world: World) -> None:
    _achieve(world)
    good = SettlementInput(ref="B1", contract="C1", milestone=0, amount=Fen(100), paid_at=D("2026-03-02"))
    bad = SettlementInput(ref="B2", contract="C1", milestone=1, amount=Fen(100), paid_at=D("2026-03-02"))
    refuse(world, lambda: world.client.settle_batch(world.operator, [good, bad]), "MilestoneNotAchieved", index=1)
    assert world.client.recorded_hash("B1") == b"\0" * 32
    outcome = world.client.settle_batch(world.operator, [good, good])
    assert outcome.replayed  # the second copy inside the batch is a replay of the first
    assert world.client.milestone("C1", 0).paid == 100


def test_issuance_event_names_member_rule_version_and_source(world: World) -> None:
    _achieve(world, 0)
    _achieve(world, 1)
    _pay(world, "P1", milestone=0, amount=150_000_000)
    outcome = _pay(world, "P2", milestone=1, amount=100_000_000)
    issued = {e.args["ruleId"].rstrip(b"\0").decode(): e.args for e in outcome.events if e.name == "PointsIssued"}
    assert issued["R11-LANDING"]["member"] == world.uni.address
    assert issued["R11-LANDING"]["amount"] == 50_000_000  # 20% of 2,500,000.00 once the threshold is crossed
    assert issued["R11-LANDING"]["policyVersion"] == 1
    assert issued["R11-LANDING"]["source"] == text_id("P2")
    assert issued["R16-BROKER"]["amount"] == 500_000  # 0.5% of 1,000,000.00


def test_enrolment_of_an_existing_member_is_refused(world: World) -> None:
    refuse(
        world,
        lambda: world.client.enrol(
            world.regulator,
            account=world.uni.address,
            kind=MemberKind.UNIVERSITY,
            in_region=True,
            uscc="121500004600012340",
        ),
        "MemberAlreadyEnrolled",
        account=world.uni.address,
    )


@pytest.mark.parametrize("kind", [MemberKind.ENTERPRISE, MemberKind.BROKER, MemberKind.INDIVIDUAL], ids=str)
def test_an_operator_is_not_enrolled_as_a_member_that_trades(world: World, kind: MemberKind) -> None:
    error = refuse(
        world,
        lambda: world.client.enrol(
            world.regulator, account=world.operator.address, kind=kind, in_region=True, uscc="91110000802100433B"
        ),
        "OperatorCannotTrade",
        account=world.operator.address,
    )
    assert "is an operator" in str(error)
    # as the market's own staff it may be enrolled
    staff = {"kind": MemberKind.OPERATOR, "in_region": True, "uscc": "91150102MA0R54321E"}
    world.client.enrol(world.regulator, account=world.operator.address, **staff)
    assert world.client.member(world.operator.address).kind is MemberKind.OPERATOR


@pytest.mark.parametrize("kind", [k for k in MemberKind if k is not MemberKind.NONE], ids=str)
def test_the_contract_and_the_client_agree_on_which_kinds_trade(world: World, kind: MemberKind) -> None:
    """`MemberKind.trades`, which the client checks before sending, is the membership contract's rule:
    an operator's account is enrolled as `kind`, and a member of `kind` appointed operator, only if it
    does not trade."""
    enrol = {"kind": kind, "in_region": True, "uscc": None}
    outcomes = []
    for act in (
        lambda: world.client.enrol(world.regulator, account=world.operator.address, **enrol),
        lambda: (
            world.client.enrol(world.regulator, account=world.outsider.address, **enrol),
            world.client.appoint_operator(world.regulator, world.outsider.address),
        ),
    ):
        try:
            act()
            outcomes.append(None)
        except ContractError as exc:
            outcomes.append(exc.name)
    assert outcomes == (["OperatorCannotTrade", "MemberCannotOperate"] if kind.trades else [None, None])


def test_a_member_that_trades_is_not_appointed_operator(world: World) -> None:
    refuse(
        world,
        lambda: world.client.appoint_operator(world.regulator, world.firm.address),
        "MemberCannotOperate",
        account=world.firm.address,
    )
    world.client.suspend(world.regulator, world.firm.address)  # suspended, it still trades: its history stays
    refuse(world, lambda: world.client.appoint_operator(world.regulator, world.firm.address), "MemberCannotOperate")
    assert not world.client.is_operator(world.firm.address)
    world.client.enrol(
        world.regulator, account=world.outsider.address, kind=MemberKind.REGULATOR, in_region=True, uscc=None
    )
    world.client.appoint_operator(world.regulator, world.outsider.address)  # staff, and not yet a member: both may
    assert world.client.is_operator(world.outsider.address)


@pytest.mark.parametrize("recorded", [False, True], ids=["new-reference", "recorded-reference"])
def test_a_settlement_with_dirty_high_bits_is_refused(world: World, recorded: bool) -> None:
    """The ledger hashes a settlement as it lies in the calldata. The same payment with a bit set above
    its milestone's 32 bits hashes differently, and is refused all the same: a new reference when the
    field is read, a recorded one as a conflicting duplicate. Nothing is recorded either way."""
    _achieve(world)
    if recorded:
        _pay(world, "P1")
    before = world.client.recorded_hash("P1")
    settlement = SettlementInput(ref="P1", contract="C1", milestone=0, amount=Fen(100), paid_at=D("2026-03-02"))
    ledger = world.client.contracts.ledger
    clean = bytes.fromhex(ledger.encode_abi("record", args=[settlement.as_tuple()])[2:])
    milestone_word = 4 + 2 * 32  # after the selector, the reference and the contract id
    dirty = clean[:milestone_word] + b"\1" + clean[milestone_word + 1 :]
    # the clean twin goes through (a first record, or a harmless replay)
    assert world.session.estimate(world.operator.address, to=ledger.address, data=clean) > 0
    block = world.session.head()
    with pytest.raises(ContractError) as caught:
        world.session.estimate(world.operator.address, to=ledger.address, data=dirty)
    # a new reference: the ABI decoder's check of the field, a revert without a reason
    assert caught.value.name == ("DuplicatePayment" if recorded else "Reverted")
    assert world.client.recorded_hash("P1") == before
    assert world.session.head() == block

"""A catalogue of generated bad requests: every one refused by name, none mined, no raw revert shown."""

from __future__ import annotations

import json
import random
import string
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from ledger.domain.dates import parse_date
from ledger.domain.money import Centipoints, Fen, parse_yuan
from ledger.domain.scenario import parse_scenario
from ledger.domain.types import MemberKind
from ledger.domain.uscc import ALPHABET, check_character, validate_uscc
from ledger.errors import AmountError, ContractError, CreditCodeError, InputError, LedgerError, ScenarioError
from ledger.services.client import MilestoneInput, SettlementInput
from tests.chain.conftest import World, lump_transfer
from tests.vectors.load import cases

D = parse_date
Request = tuple[str, Callable[[], Any], type[LedgerError], str | None]


#: Every kind of member that trades on the market (all but the market's own staff).
TRADING_KINDS = [kind for kind in MemberKind if kind.trades]


def _transfer(world: World, contract_id: str, buyer: str, i: int, broker: str | None = None) -> Any:
    """Register a transfer sold by the university to `buyer` (a one-milestone contract of 1 + i fen)."""
    milestones = (MilestoneInput("m", Fen(1 + i), D("2026-06-01")),)
    return world.client.register_contract(
        world.operator, lump_transfer(world, id=contract_id, buyer=buyer, milestones=milestones, broker=broker)
    )


def _settle(
    world: World,
    *,
    ref: str,
    contract: str = "C1",
    milestone: int | None = 0,
    amount: int = 100,
    at: int | None = None,
    signer: Any = None,
) -> Any:
    return world.client.settle(
        signer or world.operator,
        SettlementInput(
            ref=ref, contract=contract, milestone=milestone, amount=Fen(amount), paid_at=at or D("2026-03-02")
        ),
    )


def _bad_amount_texts(rng: random.Random) -> list[str]:
    out = []
    for _ in range(60):
        choice = rng.randrange(6)
        if choice == 0:
            out.append(f"{rng.randrange(10**6)}.{rng.randrange(1000, 10**6)}")  # three or more decimals
        elif choice == 1:
            out.append(f"-{rng.randrange(1, 10**6)}.00")
        elif choice == 2:
            out.append("".join(rng.choice(string.ascii_letters) for _ in range(rng.randrange(1, 8))))
        elif choice == 3:
            out.append(f"{rng.randrange(1, 9)}e{rng.randrange(3, 40)}")
        elif choice == 4:
            out.append("9" * rng.randrange(16, 40) + ".00")
        else:
            out.append(rng.choice(["", " ", "1,000.00", "1.2.3", "0x10", "NaN", "inf", "１２３"]))
    return out


def _bad_credit_codes(rng: random.Random) -> list[str]:
    out = []
    for _ in range(60):
        body = "".join(rng.choice(ALPHABET) for _ in range(17))
        good = body + check_character(body)
        choice = rng.randrange(4)
        if choice == 0:
            wrong = rng.choice([c for c in ALPHABET if c != good[17]])
            out.append(good[:17] + wrong)
        elif choice == 1:
            position = rng.randrange(18)
            out.append(good[:position] + rng.choice("IOSVZ") + good[position + 1 :])
        elif choice == 2:
            out.append(good[: rng.randrange(0, 17)] if rng.random() < 0.5 else good + rng.choice(ALPHABET))
        else:
            out.append(good.lower() if any(c.isalpha() for c in good) else good[:17] + "a")
    return out


def _bad_scenarios(rng: random.Random) -> list[dict[str, Any]]:
    base = cases()[2]["scenario"]
    mutations: list[Callable[[dict[str, Any]], None]] = [
        lambda d: d["events"][0].update(amount=rng.choice(["1.001", "-5", "x", 1e30, None])),
        lambda d: d["events"][0].update(contract=f"NOPE-{rng.randrange(999)}"),
        lambda d: d["events"][0].update(at=rng.choice(["2026-13-01", "yesterday", "2026-02-30", 5])),
        lambda d: d["events"][0].update(type=rng.choice(["gift", "refund", "", None])),
        lambda d: d["contracts"][0].update(seller=d["contracts"][0]["buyer"]),
        lambda d: d["contracts"][0].update(kind=rng.choice(["loan", "", 3])),
        lambda d: d["members"][0].update(uscc="91110000802100433C"),
        lambda d: d.update(scenario=rng.choice([0, 2, "1", None])),
        lambda d: d["events"].insert(
            0, {"at": "2027-01-01", "type": "payment", "ref": "X", "contract": "C1", "amount": "1.00"}
        ),
        lambda d: d["contracts"][0].update(milestones=[]),
        lambda d: next(e for e in d["events"] if "milestone" in e).update(
            milestone=rng.choice([-1, 2**32 - 1, 2**70, "0", True, 1.0])
        ),
    ]
    out = []
    for _ in range(40):
        document = json.loads(json.dumps(base))
        rng.choice(mutations)(document)
        out.append(document)
    return out


def catalogue(world: World, rng: random.Random) -> list[Request]:
    requests: list[Request] = []
    for i in range(40):
        requests.append(
            (
                "unknown contract",
                lambda i=i: _settle(world, ref=f"U{i}", contract=f"NOPE-{rng.randrange(10**6)}"),
                ContractError,
                "UnknownContract",
            )
        )
        requests.append(
            (
                "unknown milestone",
                lambda i=i: _settle(world, ref=f"M{i}", milestone=rng.randrange(2, 10**4)),
                ContractError,
                "UnknownMilestone",
            )
        )
        requests.append(
            (
                "above what is due",
                lambda i=i: _settle(world, ref=f"O{i}", amount=150_000_001 + rng.randrange(10**9)),
                ContractError,
                "AmountExceedsDue",
            )
        )
        requests.append(
            (
                "milestone not achieved",
                lambda i=i: _settle(world, ref=f"N{i}", milestone=1),
                ContractError,
                "MilestoneNotAchieved",
            )
        )
        requests.append(
            (
                "dated in the future",
                lambda i=i: _settle(world, ref=f"F{i}", at=D("2099-01-01") + rng.randrange(10**8)),
                ContractError,
                "DatedInFuture",
            )
        )
        requests.append(
            (
                "dated before signing",
                lambda i=i: _settle(world, ref=f"B{i}", at=D("2026-02-01") - 1 - rng.randrange(10**7)),
                ContractError,
                "PaymentBeforeSigning",
            )
        )
        requests.append(
            (
                "milestone achieved before signing",
                lambda i=i: world.client.achieve_milestone(
                    world.operator, contract="C1", index=1, at=D("2026-02-01") - 1 - rng.randrange(10**7)
                ),
                ContractError,
                "DatedBeforeSigning",
            )
        )
        requests.append(
            (
                "start-up revenue of a year not begun",
                lambda i=i: world.client.attest_startup_revenue(
                    world.operator,
                    member=world.firm.address,
                    year=2027 + rng.randrange(70),
                    revenue=Fen(20_000_000 + i),
                    at=D("2026-05-01") + rng.randrange(10**6),
                ),
                ContractError,
                "RevenueYearAhead",
            )
        )
        requests.append(
            (
                "duplicate reference",
                lambda i=i: _settle(world, ref="TAKEN", amount=101 + i),
                ContractError,
                "DuplicatePayment",
            )
        )
        requests.append(
            (
                "an operator enrolled to trade, or a trading member appointed",
                lambda i=i: (
                    world.client.enrol(
                        world.regulator,
                        account=world.operator.address,
                        kind=rng.choice(TRADING_KINDS),
                        in_region=bool(i % 2),
                        uscc="91110000802100433B",
                    )
                    if i % 2
                    else world.client.appoint_operator(world.regulator, rng.choice([world.uni, world.firm]).address)
                ),
                ContractError,
                "OperatorCannotTrade" if i % 2 else "MemberCannotOperate",
            )
        )
        requests.append(
            (
                "caller without the role",
                lambda i=i: _settle(world, ref=f"R{i}", signer=world.firm),
                ContractError,
                "CallerNotOperator",
            )
        )
        requests.append(
            (
                "party not a member",
                lambda i=i: _transfer(world, f"X{i}", world.outsider.address, i),
                ContractError,
                "NotAMember",
            )
        )
        requests.append(
            (
                "seller is buyer",
                lambda i=i: _transfer(world, f"Y{i}", world.uni.address, i),
                ContractError,
                "SellerIsBuyer",
            )
        )
        requests.append(
            (
                "broker is a party",
                lambda i=i: _transfer(world, f"K{i}", world.firm.address, i, [world.uni, world.firm][i % 2].address),
                ContractError,
                "BrokerIsAParty",
            )
        )
    for i in range(20):
        requests.append(("zero amount", lambda i=i: _settle(world, ref=f"Z{i}", amount=0), ContractError, "ZeroAmount"))
        requests.append(
            (
                "instrument below threshold",
                lambda i=i: world.client.register_instrument(
                    world.operator,
                    instrument_id=f"I{i}",
                    provider=world.lab.address,
                    original_value=Fen(rng.randrange(10_000_000)),
                ),
                ContractError,
                "InstrumentBelowSharingThreshold",
            )
        )
        requests.append(
            (
                "redeem more than held",
                lambda i=i: world.client.redeem(
                    world.firm, points=Centipoints(1 + rng.randrange(10**9)), purpose="booking"
                ),
                ContractError,
                "InsufficientPoints",
            )
        )
    for i in range(20):
        requests.append(
            (
                "argument outside its ABI type",
                lambda: world.client.achieve_milestone(
                    world.operator, contract="C1", index=-1 - rng.randrange(10**6), at=D("2026-03-01")
                ),
                InputError,
                None,
            )
        )
        requests.append(
            (
                "malformed address",
                lambda: world.client.suspend(world.regulator, rng.choice(["0x123", "imu", "", "0x" + "g" * 40])),
                InputError,
                None,
            )
        )
        requests.append(
            (
                "number too large for its ABI type",
                lambda i=i: world.client.register_instrument(
                    world.operator, instrument_id=f"J{i}", provider=world.lab.address, original_value=Fen(2**256 + i)
                ),
                InputError,
                None,
            )
        )
    for text in _bad_amount_texts(rng):
        requests.append(("malformed amount", lambda text=text: parse_yuan(text), AmountError, None))
    for code in _bad_credit_codes(rng):
        requests.append(("malformed credit code", lambda code=code: validate_uscc(code), CreditCodeError, None))
    for document in _bad_scenarios(rng):
        requests.append(
            ("invalid scenario file", lambda document=document: parse_scenario(document), ScenarioError, None)
        )
    return requests


def test_every_generated_bad_request_is_refused_by_name_and_nothing_is_mined(world: World) -> None:
    world.client.achieve_milestone(world.operator, contract="C1", index=0, at=D("2026-03-01"))
    _settle(world, ref="TAKEN", amount=100)
    requests = catalogue(world, random.Random(20261127))
    assert len(requests) >= 500
    block = world.session.w3.eth.block_number
    refused: Counter[str] = Counter()
    for what, action, error_type, name in requests:
        with pytest.raises(error_type) as caught:
            action()
        error = caught.value
        if name is not None:
            assert isinstance(error, ContractError) and error.name == name, (what, error)
        message = str(error)
        assert message and "execution reverted" not in message and "\\x" not in message, (what, message)
        refused[what] += 1
    assert world.session.w3.eth.block_number == block, "a refused request was mined"
    assert sum(refused.values()) == len(requests)
    assert len(refused) == 23  # every class of request above

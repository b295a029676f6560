"""A write run again. The contracts refuse a write that is already done (an enrolment, a registration,
an achievement, a revenue report); when what the refused write says is what is recorded, the same
command was simply run again (a retry after a lost reply, a script re-run) and nothing is to be
done. When it says something else, the refusal stands, followed by what differs from the record.

Each `*_differences` answers, from the chain or its event log, what a write changes of the record it
collides with: an empty list when nothing, None when no record is found to compare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.chain.encoding import text_id, uscc_hash
from ledger.chain.logs import account_topic, as_bytes, event_pattern
from ledger.domain.dates import format_beijing
from ledger.domain.money import readable_yuan
from ledger.format import differences

if TYPE_CHECKING:
    from ledger.domain.types import MemberKind
    from ledger.errors import ContractError
    from ledger.services.client import ContractInput, MemberRecord, SettlementInput
    from ledger.services.workspace import Workspace

_YES_NO = {True: "yes", False: "no"}


def unless_recorded_alike(refusal: ContractError, changes: list[str] | None) -> None:
    """Return when a write the chain refused as already done is what is recorded (the same command run
    again: nothing to do); else raise the refusal, saying what differs when that is known."""
    if changes is not None and not changes:
        return
    raise refusal.saying(changes or []) from None


def enrolment_differences(
    recorded: MemberRecord, *, kind: MemberKind, in_region: bool, uscc: str | None, fingerprint: bytes
) -> list[str]:
    """What an enrolment says that the member's record does not (its credit code is on chain as a hash)."""
    code = uscc or "none"
    return differences(
        [
            ("kind", kind.label, recorded.kind.label),
            ("in region", _YES_NO[in_region], _YES_NO[recorded.in_region]),
            ("credit code", code, code if recorded.uscc_hash == uscc_hash(uscc) else "another"),
            ("certificate fingerprint", "0x" + fingerprint.hex(), "0x" + recorded.cert_fingerprint.hex()),
        ]
    )


def status_change_done_before(ws: Workspace, refusal: ContractError, address: str) -> bool:
    """Whether a suspension or reinstatement refused as already in force is the same command run again:
    a member already suspended is; one not suspended is if it was reinstated before (else it never was
    suspended, and reinstating it is a mistake)."""
    if refusal.name == "MemberAlreadySuspended":
        return True
    if refusal.name != "MemberNotSuspended":
        return False
    return bool(ws.recorded_events(event_pattern("MemberReinstated", as_bytes(account_topic(address)))))


def instrument_differences(ws: Workspace, instrument_id: str, *, provider: str, value: int) -> list[str]:
    """What a registration of an instrument changes of the one registered under its id."""
    was_provider, was_value = ws.client.instrument(instrument_id)
    return differences(
        [
            ("provider", ws.name_of(provider), ws.name_of(was_provider)),
            ("original value", f"{readable_yuan(value)} yuan", f"{readable_yuan(was_value)} yuan"),
        ]
    )


def registration_differences(ws: Workspace, contract: ContractInput) -> list[str] | None:
    """What a registration changes of the contract recorded under its id."""
    return registrations_differences(ws, [contract])[contract.id]


def registrations_differences(ws: Workspace, contracts: list[ContractInput]) -> dict[str, list[str] | None]:
    """What registering each of `contracts` changes of the contract recorded under its id, by id, read
    in one pass of the local index (a file of contracts is checked together)."""
    from ledger.services.client import ContractInput

    keys = [text_id(contract.id) for contract in contracts]
    patterns = [
        pattern
        for key in keys
        for pattern in (event_pattern("ContractRegistered", key), event_pattern("MilestoneAdded", key))
    ]
    registered: dict[bytes, Any] = {}
    milestones: dict[bytes, list[Any]] = {key: [] for key in keys}
    for event in ws.recorded_events(*patterns):
        key = as_bytes(event.args["contractId"])
        if event.name == "ContractRegistered":
            registered.setdefault(key, event.args)
        else:
            milestones[key].append(event.args)
    return {
        contract.id: None
        if key not in registered
        else contract.differences(ContractInput.recorded(registered[key], milestones[key]), name_of=ws.name_of)
        for contract, key in zip(contracts, keys, strict=True)
    }


def achievement_differences(ws: Workspace, contract: str, index: int, *, at: int) -> list[str] | None:
    """What an achievement changes of the one recorded for its milestone."""
    recorded = ws.recorded_events(event_pattern("MilestoneAchieved", text_id(contract), index.to_bytes(32, "big")))
    if not recorded:
        return None
    return differences([("date", format_beijing(at), format_beijing(recorded[0].args["achievedAt"]))])


def report_differences(ws: Workspace, contract: str, period: str, *, revenue: int, at: int) -> list[str] | None:
    """What a revenue report changes of the one recorded for its period."""
    recorded = ws.recorded_events(event_pattern("RevenueReported", text_id(contract), text_id(period)))
    if not recorded:
        return None
    was = recorded[0].args
    return differences(
        [
            ("revenue", f"{readable_yuan(revenue)} yuan", f"{readable_yuan(was['revenue'])} yuan"),
            ("date", format_beijing(at), format_beijing(was["reportedAt"])),
        ]
    )


def explained_duplicate(ws: Workspace, settlement: SettlementInput, refusal: ContractError) -> ContractError:
    """The refusal of a payment whose reference is recorded with other data, saying what differs (an
    identical resend is no refusal: the ledger answers it as a replay)."""
    recorded = ws.recorded_settlements({settlement.ref}).get(settlement.ref)
    return refusal.saying([] if recorded is None else settlement.differences(recorded))

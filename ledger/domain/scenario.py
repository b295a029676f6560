"""The scenario file of `ledger run` (SPEC §7): parsed and checked before anything is sent.

Anything wrong with the file itself raises `ScenarioError` naming the place (``events[3].amount``).
Problems only the chain can judge (a milestone not yet achieved, a duplicate reference) are not
checked here: they become rejected events.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ledger.domain.dates import FIRST_YEAR, LAST_YEAR, is_recorded_year, parse_date, parse_instant
from ledger.domain.ids import check_identifier
from ledger.domain.money import Centipoints, Fen, parse_points, parse_yuan, readable_yuan
from ledger.domain.policy import RULE_DEFINITIONS, RULE_IDS, UNREAD_KEY, bundled_policy_path
from ledger.domain.types import (
    MILESTONE_UNSPECIFIED,
    AppointmentTitle,
    ContractKind,
    MemberKind,
    NamedEnum,
    PaymentPlan,
)
from ledger.domain.uscc import validate_uscc
from ledger.errors import InputError, LedgerError, ScenarioError
from ledger.files import JsonProblem, encoding_hint, names_a_file, parse_json

#: Clause 15 shares instruments of at least 100,000.00 yuan (mirrors ContractRegistry).
MIN_SHARED_INSTRUMENT_VALUE = Fen(10_000_000)

#: Each event type, and the fields besides `at` and `type` an event of it may have (others are ignored,
#: with a warning: `_unknown_fields`).
EVENT_FIELDS = {
    "milestone_achieved": "contract milestone",
    "payment": "ref contract milestone amount evidence",
    "equity": "ref contract milestone amount evidence",
    "revenue_report": "contract period revenue",
    "royalty_payment": "ref contract period amount evidence",
    "sme_revenue": "member year revenue",
    "talent_appointment": "member title",
    "redeem": "member points purpose",
    "suspend": "member",
    "reinstate": "member",
    "policy_version": "rule rate_bps amount threshold",
}
EVENT_TYPES = tuple(EVENT_FIELDS)
#: The events that record a settlement.
PAYMENT_EVENTS = ("payment", "equity", "royalty_payment")

NamedT = TypeVar("NamedT", bound=NamedEnum)


@dataclass(frozen=True)
class MemberDecl:
    id: str
    name: str
    kind: MemberKind
    uscc: str | None
    in_region: bool


@dataclass(frozen=True)
class InstrumentDecl:
    id: str
    provider: str
    original_value: Fen


@dataclass(frozen=True)
class MilestoneDecl:
    title: str
    amount: Fen
    due: int


@dataclass(frozen=True)
class ContractDecl:
    """A technology contract as a scenario file declares it, its parties by member id."""

    id: str
    kind: ContractKind
    seller: str
    buyer: str
    broker: str | None
    signed: int
    value: Fen
    plan: PaymentPlan
    royalty_bps: int
    instrument: str | None
    milestones: tuple[MilestoneDecl, ...]
    terms: str | None = None


@dataclass(frozen=True)
class ScenarioEvent:
    """One event; which optional fields are set depends on `type`."""

    index: int
    at: int
    type: str
    contract: str | None = None
    milestone: int | None = None
    ref: str | None = None
    amount: Fen | None = None
    period: str | None = None
    member: str | None = None
    year: int | None = None
    title: AppointmentTitle | None = None
    points: Centipoints | None = None
    purpose: str | None = None
    rule: str | None = None
    rate_bps: int | None = None
    fixed_amount: Centipoints | None = None
    threshold: Fen | None = None
    evidence: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A scenario file read and checked (SPEC section 7): the declarations, the events in time order, and
    the policy file to publish."""

    members: tuple[MemberDecl, ...]
    instruments: tuple[InstrumentDecl, ...]
    contracts: tuple[ContractDecl, ...]
    events: tuple[ScenarioEvent, ...]
    policy_path: Path | None = None
    source: Path | None = None
    member_index: dict[str, MemberDecl] = field(default_factory=dict, compare=False)
    contract_index: dict[str, ContractDecl] = field(default_factory=dict, compare=False)
    #: what in the file was read but may not say what its author meant (printed before the run)
    warnings: tuple[str, ...] = field(default=(), compare=False)


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario file: {exc.strerror}", where=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"the file is not UTF-8 text (byte {exc.start}){encoding_hint(raw)}", where=str(path)
        ) from None
    try:
        # An amount written as a JSON number (2000000.00) is read as the text it is written as, never
        # through a float: then checked as the decimal string it stands for. A key given twice in one
        # object keeps its last value, as most JSON readers do, and the file is warned of it (the
        # format is a stable interface: a file other readers take is not refused here).
        twice: list[str] = []
        data = parse_json(text, decimals_as_text=True, on_duplicate=twice.append)
    except JsonProblem as exc:
        raise ScenarioError(f"the file is {exc}", where=str(path)) from None
    scenario = parse_scenario(data, base=path.parent, source=path)
    warnings = tuple(f"an object gives the key {key!r} twice; its last value is used" for key in dict.fromkeys(twice))
    return replace(scenario, warnings=warnings + scenario.warnings) if warnings else scenario


def _policy_file(named: str, base: Path | None) -> Path:
    """The policy file a scenario names: a path beside the scenario file, else from where the command
    runs, else among the bundled policies (`policy/mkj-2026.toml`, `mkj-2026.toml`, or its id `mkj-2026`)."""
    bundled = bundled_policy_path().parent
    policies = sorted(bundled.glob("*.toml"))
    candidates = [(base or Path.cwd()) / named, Path.cwd() / named, bundled / named, bundled.parent / named]
    candidates += [path for path in policies if path.stem == named]
    found = next((path for path in candidates if names_a_file(path)), None)
    if found is None:
        known = ", ".join(path.stem for path in policies)
        raise ScenarioError(
            f"policy file {named!r} does not exist beside the scenario file, here or among the bundled "
            f"policies ({known})",
            where="policy",
        )
    return found


def parse_scenario(data: Any, *, base: Path | None = None, source: Path | None = None) -> Scenario:
    """The scenario in `data` (a parsed JSON document), checked; `base` is where a policy path is looked for
    first, `source` the file it came from. A `ScenarioError` names the problem and its place."""
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a JSON object", where="(top level)")
    if data.get("scenario", 1) != 1:  # the format's version; a file that leaves it out is of the one there is
        raise ScenarioError(
            f'"scenario" is the format version and only 1 exists; this file says {data["scenario"]!r}', where="scenario"
        )
    policy_path = None
    if data.get("policy") is not None:
        if not isinstance(data["policy"], str):
            raise ScenarioError("policy must be null, a policy file's path or a bundled policy's id", where="policy")
        policy_path = _policy_file(data["policy"], base)
    members = _members(_list(data, "members"))
    member_index = {m.id: m for m in members}
    instruments = _instruments(_list(data, "instruments", optional=True), member_index)
    instrument_index = {i.id: i for i in instruments}
    contracts = _contracts(_list(data, "contracts", optional=True), member_index, instrument_index)
    contract_index = {c.id: c for c in contracts}
    events = _events(_list(data, "events", optional=True), member_index, contract_index)
    return Scenario(
        members=members,
        instruments=instruments,
        contracts=contracts,
        events=events,
        policy_path=policy_path,
        source=source,
        member_index=member_index,
        contract_index=contract_index,
        warnings=(*_unknown_fields(data), *_shared_credit_codes(members), *_regions_left_out(data, contracts)),
    )


def _shared_credit_codes(members: tuple[MemberDecl, ...]) -> list[str]:
    """A warning for each member declared with the credit code of an earlier one: an institution is one
    member, which `ledger member enrol` holds to; a scenario declaring it twice still plays (SPEC section 7
    asks no more), but its once-per-member awards and R15 years are counted for each."""
    first: dict[str, int] = {}
    found = []
    for i, member in enumerate(members):
        if member.uscc is None:
            continue
        earlier = first.setdefault(member.uscc, i)
        if earlier != i:
            found.append(
                f"members[{i}]: {member.id!r} has the credit code of members[{earlier}] {members[earlier].id!r}; "
                "one institution declared as two members is paid what is paid once per member twice"
            )
    return found


def _regions_left_out(data: dict[str, Any], contracts: tuple[ContractDecl, ...]) -> list[str]:
    """A warning for each buyer of a contract whose declaration leaves `in_region` out: read as false, as
    `ledger member enrol` without `--in-region`, which takes clause 11 (buyer in the region) from its
    sellers without a word in the file."""
    buyers = {c.buyer for c in contracts}
    return [
        f"members[{i}]: {obj['id']!r} does not say in_region; it is read as false (outside the region), so "
        "what it buys earns no clause 11 award"
        for i, obj in enumerate(data["members"])
        if "in_region" not in obj and obj["id"] in buyers
    ]


#: The fields of each object of a scenario file (SPEC section 7; events: `EVENT_FIELDS`); others are
#: ignored, with a warning.
SCENARIO_FIELDS = frozenset("scenario policy members instruments contracts events".split())
MEMBER_FIELDS = frozenset("id name kind uscc in_region".split())
INSTRUMENT_FIELDS = frozenset("id provider original_value".split())


def _unknown_fields(data: dict[str, Any]) -> list[str]:
    """A warning for each field the format does not have (a misspelt one, most likely), which the
    reading above ignored: `"amout": "1.00"` leaves the event without the amount its author meant."""

    def unknown(obj: object, known: frozenset[str], where: str, what: str) -> list[str]:
        if not isinstance(obj, dict):
            return []
        return [f"{where}: {key!r} is not a field of {what}; it is ignored" for key in obj if key not in known]

    def entries(key: str) -> list[tuple[str, Any]]:
        return [(f"{key}[{i}]", entry) for i, entry in enumerate(data.get(key) or [])]

    found = unknown(data, SCENARIO_FIELDS, "(top level)", "a scenario")
    found += [w for where, obj in entries("members") for w in unknown(obj, MEMBER_FIELDS, where, "a member")]
    found += [
        w for where, obj in entries("instruments") for w in unknown(obj, INSTRUMENT_FIELDS, where, "an instrument")
    ]
    for where, obj in entries("contracts"):
        found += unknown(obj, CONTRACT_FIELDS, where, "a contract")
        for j, milestone in enumerate(obj.get("milestones") or []):
            found += unknown(milestone, MILESTONE_FIELDS, f"{where}.milestones[{j}]", "a milestone")
    for where, obj in entries("events"):
        kind = obj.get("type")
        known = frozenset(("at type " + EVENT_FIELDS[kind]).split())
        found += unknown(obj, known, where, f"a {kind} event")
        if kind == "policy_version" and obj.get("rule") in RULE_DEFINITIONS:
            rule_kind = RULE_DEFINITIONS[obj["rule"]]["kind"]
            idle = UNREAD_KEY[rule_kind]
            if idle in obj:
                label = "rate" if rule_kind == "rate" else "fixed-award"
                found.append(f"{where}: {obj['rule']} is a {label} rule: {idle!r} has no effect on its awards")
    return found


# --- sections -------------------------------------------------------------------------------


def _list(data: dict[str, Any], key: str, *, optional: bool = False) -> list[Any]:
    value = data.get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise ScenarioError("must be a list", where=key)
    return value


def _declarations(
    entries: list[Any], section: str, what: str, *, on_chain: bool = False
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each entry of a section as (where, object, id), an id declared twice refused."""
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{section}[{i}]"
        obj = _object(entry, where)
        declared = _id(obj, "id", where, on_chain=on_chain)
        if declared in seen:
            raise ScenarioError(f"{what} id {declared!r} is declared twice", where=f"{where}.id")
        seen.add(declared)
        yield where, obj, declared


def _absent(value: Any) -> bool:
    """An optional field left out: null, or written as empty text (`"broker": ""`, an individual's `"uscc": ""`)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _members(entries: list[Any]) -> tuple[MemberDecl, ...]:
    out: list[MemberDecl] = []
    for where, obj, member_id in _declarations(entries, "members", "member"):
        kind = _enum(MemberKind, obj.get("kind"), f"{where}.kind")
        uscc = None if _absent(obj.get("uscc")) else obj["uscc"]
        if uscc is None:
            if kind.needs_credit_code:
                raise ScenarioError(
                    f"member {member_id!r} is of kind {kind.label} and needs a unified social credit code",
                    where=f"{where}.uscc",
                )
        else:
            with _located(f"{where}.uscc"):
                validate_uscc(uscc)
        in_region = obj.get("in_region", False)
        if not isinstance(in_region, bool):
            raise ScenarioError("in_region must be true or false", where=f"{where}.in_region")
        name = obj.get("name", member_id)
        if not isinstance(name, str):
            raise ScenarioError("name must be text", where=f"{where}.name")
        out.append(MemberDecl(id=member_id, name=name, kind=kind, uscc=uscc, in_region=in_region))
    return tuple(out)


def _instruments(entries: list[Any], members: dict[str, MemberDecl]) -> tuple[InstrumentDecl, ...]:
    out: list[InstrumentDecl] = []
    for where, obj, instrument_id in _declarations(entries, "instruments", "instrument", on_chain=True):
        provider = _member_ref(obj, "provider", where, members)
        value = _amount(obj.get("original_value"), f"{where}.original_value")
        if value < MIN_SHARED_INSTRUMENT_VALUE:
            raise ScenarioError(
                f"instrument {instrument_id!r} has an original value of {readable_yuan(value)} yuan; only instruments "
                f"of {readable_yuan(MIN_SHARED_INSTRUMENT_VALUE)} yuan or more can be shared",
                where=f"{where}.original_value",
            )
        out.append(InstrumentDecl(id=instrument_id, provider=provider, original_value=value))
    return tuple(out)


#: The fields of a contract, and of each of its milestones, in the scenario format (and in the file
#: `ledger contract register` reads, which refuses any other: a misspelt field would be ignored).
CONTRACT_FIELDS = frozenset(
    "id kind plan seller buyer broker signed value royalty_bps instrument milestones terms".split()
)
MILESTONE_FIELDS = frozenset("title amount due".split())


def unknown_contract_fields(obj: dict[str, Any]) -> list[str]:
    """The fields of a contract object (and of its milestones) that the format does not have."""
    unknown = sorted(set(obj) - CONTRACT_FIELDS)
    milestones = obj.get("milestones")
    for i, milestone in enumerate(milestones if isinstance(milestones, list) else []):
        if isinstance(milestone, dict):
            unknown += [f"milestones[{i}].{key}" for key in sorted(set(milestone) - MILESTONE_FIELDS)]
    return unknown


def parse_contract(
    obj: dict[str, Any], members: dict[str, Any], instruments: dict[str, InstrumentDecl]
) -> ContractDecl:
    """One contract in the scenario's shape, its parties among `members`, its instrument among
    `instruments`; `ScenarioError` says what is wrong, at `contracts[0]`."""
    (decl,) = _contracts([obj], members, instruments)
    return decl


def _contracts(
    entries: list[Any], members: dict[str, MemberDecl], instruments: dict[str, InstrumentDecl]
) -> tuple[ContractDecl, ...]:
    out: list[ContractDecl] = []
    for where, obj, contract_id in _declarations(entries, "contracts", "contract", on_chain=True):
        kind = _enum(ContractKind, obj.get("kind"), f"{where}.kind")
        plan = _enum(PaymentPlan, obj.get("plan", "lump_sum"), f"{where}.plan")
        seller = _member_ref(obj, "seller", where, members)
        buyer = _member_ref(obj, "buyer", where, members)
        broker = None if _absent(obj.get("broker")) else _member_ref(obj, "broker", where, members)
        if seller == buyer:
            raise ScenarioError(f"the seller and the buyer are both {seller!r}", where=f"{where}.buyer")
        if broker is not None and broker in (seller, buyer):
            raise ScenarioError(
                f"{broker!r} is a party to the contract and cannot be its broker too", where=f"{where}.broker"
            )
        with _located(f"{where}.signed"):
            signed = parse_date(obj.get("signed"), what="signed")
        royalty = obj.get("royalty_bps", 0) or 0
        if not isinstance(royalty, int) or isinstance(royalty, bool) or not 0 <= royalty <= 10_000:
            raise ScenarioError("royalty_bps must be a whole number from 0 to 10000", where=f"{where}.royalty_bps")
        if royalty and plan is not PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY:
            raise ScenarioError(
                "only a zero_upfront_staged_royalty plan carries a royalty rate", where=f"{where}.royalty_bps"
            )
        instrument = _instrument_of(kind, obj, where, instruments, seller=seller)
        milestones = _milestones(obj.get("milestones"), f"{where}.milestones")
        _check_plan(plan, milestones, signed=signed, where=f"{where}.milestones")
        total = Fen(sum(m.amount for m in milestones))
        if obj.get("value") is not None:
            value = _amount(obj.get("value"), f"{where}.value")
            if value != total:
                raise ScenarioError(
                    f"the value {readable_yuan(value)} is not the sum of the milestones ({readable_yuan(total)})",
                    where=f"{where}.value",
                )
        terms = obj.get("terms")
        if terms is not None and not isinstance(terms, str):
            raise ScenarioError("terms must be text (the terms document or its name)", where=f"{where}.terms")
        out.append(
            ContractDecl(
                id=contract_id,
                kind=kind,
                seller=seller,
                buyer=buyer,
                broker=broker,
                signed=signed,
                value=total,
                plan=plan,
                royalty_bps=royalty,
                instrument=instrument,
                milestones=milestones,
                terms=terms,
            )
        )
    return tuple(out)


def _instrument_of(
    kind: ContractKind, obj: dict[str, Any], where: str, instruments: dict[str, InstrumentDecl], *, seller: str
) -> str | None:
    """The shared instrument a service contract names, its seller that instrument's provider; None for
    any other contract (which names none)."""
    instrument = None if _absent(obj.get("instrument")) else obj["instrument"]
    if kind is not ContractKind.SERVICE:
        if instrument is not None:
            raise ScenarioError("only a service contract names an instrument", where=f"{where}.instrument")
        return None
    if instrument is None:
        raise ScenarioError("a service contract must name a shared instrument", where=f"{where}.instrument")
    instrument = _ref_to(obj, "instrument", where, instruments, "instrument")
    provider = instruments[instrument].provider
    if provider != seller:
        raise ScenarioError(
            f"the seller {seller!r} is not the provider of instrument {instrument!r} ({provider!r})",
            where=f"{where}.seller",
        )
    return instrument


def _check_plan(plan: PaymentPlan, milestones: tuple[MilestoneDecl, ...], *, signed: int, where: str) -> None:
    """A zero-upfront plan has no milestone due on or before signing; a deferred one has exactly one."""
    if plan is PaymentPlan.ZERO_UPFRONT_STAGED_ROYALTY:
        for j, m in enumerate(milestones):
            if m.due <= signed:
                raise ScenarioError(
                    "a zero-upfront plan has no milestone due on or before signing", where=f"{where}[{j}].due"
                )
    if plan is PaymentPlan.DEFERRED and len(milestones) != 1:
        raise ScenarioError("a deferred plan has exactly one milestone", where=where)


def _milestones(value: Any, where: str) -> tuple[MilestoneDecl, ...]:
    if not isinstance(value, list) or not value:
        raise ScenarioError("a contract needs a non-empty list of milestones", where=where)
    out = []
    for j, entry in enumerate(value):
        at = f"{where}[{j}]"
        obj = _object(entry, at)
        title = obj.get("title", f"milestone {j}")
        if not isinstance(title, str):
            raise ScenarioError("title must be text", where=f"{at}.title")
        amount = _amount(obj.get("amount"), f"{at}.amount")
        if amount == 0:
            raise ScenarioError("a milestone amount must be more than zero", where=f"{at}.amount")
        with _located(f"{at}.due"):
            due = parse_date(obj.get("due"), what="due")
        out.append(MilestoneDecl(title=title, amount=amount, due=due))
    return tuple(out)


def _events(
    entries: list[Any], members: dict[str, MemberDecl], contracts: dict[str, ContractDecl]
) -> tuple[ScenarioEvent, ...]:
    out: list[ScenarioEvent] = []
    previous = -1
    for i, entry in enumerate(entries):
        where = f"events[{i}]"
        obj = _object(entry, where)
        with _located(f"{where}.at"):
            at = parse_instant(obj.get("at"), what="at")
        if at < previous:
            raise ScenarioError(
                "events must be in time order; this one is earlier than the one before", where=f"{where}.at"
            )
        previous = at
        kind = obj.get("type")
        if kind not in EVENT_TYPES:
            wrong = "type is missing" if kind is None else f"unknown event type {kind!r}"
            raise ScenarioError(f"{wrong}; known: {', '.join(EVENT_TYPES)}", where=f"{where}.type")
        fields = _event_fields(kind, obj, where, members, contracts)
        out.append(ScenarioEvent(index=i, at=at, type=kind, **fields))
    return tuple(out)


def _event_fields(
    kind: str, obj: dict[str, Any], where: str, members: dict[str, MemberDecl], contracts: dict[str, ContractDecl]
) -> dict[str, Any]:
    """The fields of an event of type `kind`, each checked, as `ScenarioEvent` takes them."""
    fields: dict[str, Any] = {}
    if kind in ("milestone_achieved", "payment", "equity", "revenue_report", "royalty_payment"):
        fields["contract"] = _ref_to(obj, "contract", where, contracts, "contract")
    if kind in PAYMENT_EVENTS:
        fields["ref"] = _id(obj, "ref", where, on_chain=True)
        fields["amount"] = _amount(obj.get("amount"), f"{where}.amount")
        evidence = obj.get("evidence")
        if evidence is not None and not isinstance(evidence, str):
            raise ScenarioError("evidence must be text", where=f"{where}.evidence")
        fields["evidence"] = evidence
    if kind in ("milestone_achieved", "payment", "equity"):
        fields["milestone"] = _milestone_of(kind, obj, where, contracts[fields["contract"]])
    if kind in ("revenue_report", "royalty_payment"):
        fields["period"] = _id(obj, "period", where, on_chain=True)
    if kind == "revenue_report":
        fields["amount"] = _amount(obj.get("revenue"), f"{where}.revenue")
    if kind in ("sme_revenue", "talent_appointment", "redeem", "suspend", "reinstate"):
        fields["member"] = _member_ref(obj, "member", where, members)
    if kind == "sme_revenue":
        year = obj.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not is_recorded_year(year):
            raise ScenarioError(f"year must be a year from {FIRST_YEAR} to {LAST_YEAR}", where=f"{where}.year")
        fields["year"] = year
        fields["amount"] = _amount(obj.get("revenue"), f"{where}.revenue")
    if kind == "talent_appointment":
        fields["title"] = _enum(AppointmentTitle, obj.get("title"), f"{where}.title")
    if kind == "redeem":
        with _located(f"{where}.points"):
            fields["points"] = parse_points(obj.get("points"))
        purpose = obj.get("purpose")
        if not isinstance(purpose, str) or not purpose.strip():
            raise ScenarioError("a redemption must say what the points are for", where=f"{where}.purpose")
        fields["purpose"] = purpose
    if kind == "policy_version":
        fields |= _policy_version_fields(obj, where)
    return fields


def _milestone_of(kind: str, obj: dict[str, Any], where: str, contract: ContractDecl) -> int | None:
    """The milestone an achievement or payment names; a contract's only one when it names none."""
    milestone = obj.get("milestone")
    count = len(contract.milestones)
    if milestone is None and count == 1:
        # the only milestone of its contract, which an event may leave out: named here, so that a
        # payment sent again with it named or not is the same payment
        return 0
    if milestone is None and kind == "milestone_achieved":
        raise ScenarioError(
            f"which milestone? contract {contract.id} has {count}: give its 0-based index", where=f"{where}.milestone"
        )
    if milestone is not None and (
        not isinstance(milestone, int) or isinstance(milestone, bool) or not 0 <= milestone < MILESTONE_UNSPECIFIED
    ):
        raise ScenarioError(
            f"milestone must be a 0-based index below {MILESTONE_UNSPECIFIED:,}", where=f"{where}.milestone"
        )
    return milestone


def _policy_version_fields(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """The rule a `policy_version` event changes, and what it changes of it."""
    rule = obj.get("rule")
    if rule not in RULE_IDS:
        wrong = "rule is missing" if rule is None else f"unknown rule {rule!r}"
        raise ScenarioError(f"{wrong}; known: {', '.join(RULE_IDS)}", where=f"{where}.rule")
    fields: dict[str, Any] = {"rule": rule}
    if not any(k in obj for k in ("rate_bps", "amount", "threshold")):
        raise ScenarioError("a policy version changes rate_bps, amount or threshold", where=where)
    if "rate_bps" in obj:
        rate = obj["rate_bps"]
        if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= 10_000:
            raise ScenarioError("rate_bps must be a whole number from 0 to 10000", where=f"{where}.rate_bps")
        fields["rate_bps"] = rate
    if "amount" in obj:
        with _located(f"{where}.amount"):
            fields["fixed_amount"] = parse_points(obj["amount"], what="amount")
    if "threshold" in obj:
        fields["threshold"] = _amount(obj["threshold"], f"{where}.threshold")
    return fields


# --- field helpers --------------------------------------------------------------------------


def _object(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ScenarioError("must be a JSON object", where=where)
    return entry


def _id(obj: dict[str, Any], key: str, where: str, *, on_chain: bool = False) -> str:
    """Non-empty text; one that goes on chain (not a member's name) must also be an identifier."""
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{key} must be non-empty text", where=f"{where}.{key}")
    if on_chain:
        try:
            check_identifier(value, what=key)
        except InputError as exc:
            raise ScenarioError(str(exc), where=f"{where}.{key}") from None
    return value


def _member_ref(obj: dict[str, Any], key: str, where: str, members: dict[str, MemberDecl]) -> str:
    return _ref_to(obj, key, where, members, "member")


def _ref_to(obj: dict[str, Any], key: str, where: str, known: dict[str, Any], what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        article = "an" if what[0] in "aeiou" else "a"
        raise ScenarioError(f"{key} must name {article} {what}", where=f"{where}.{key}")
    if value not in known:
        raise ScenarioError(f"unknown {what} {value!r}", where=f"{where}.{key}")
    return value


def _enum(enum: type[NamedT], value: object, where: str) -> NamedT:
    if value is None:
        raise ScenarioError(f"{where.rsplit('.', 1)[-1]} is missing; one of: {', '.join(enum.choices())}", where=where)
    try:
        return enum.parse(value)
    except ValueError as exc:
        raise ScenarioError(str(exc), where=where) from None


def _amount(value: Any, where: str) -> Fen:
    with _located(where):
        return parse_yuan(value)


@contextmanager
def _located(where: str) -> Iterator[None]:
    """Turns a bad value's error inside the block into a ScenarioError saying where in the file it is."""
    try:
        yield
    except ScenarioError:
        raise
    except LedgerError as exc:
        raise ScenarioError(str(exc), where=where) from None

"""Contract files as an operator registers them: one contract in the scenario's shape, or a list, with
the workspace's member names; each checked as far as the client can before anything is sent, and
registered once (a contract registered already with the same terms is a replay)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.errors import ContractError, InputError
from ledger.files import document_sha256, names_a_file

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from ledger.chain.session import ChainSession
    from ledger.services.client import ContractInput, LedgerClient
    from ledger.services.workspace import Workspace

#: Gas bounds of a registration, for grouping contracts into transactions (measured: ~140,000 for a
#: contract with a broker and ~28,000 per milestone; a title's bytes cost calldata and event data).
REGISTRATION_GAS = 160_000
MILESTONE_GAS = 30_000
TITLE_BYTE_GAS = 40
#: The share of a transaction's gas ceiling a group is planned to use (the estimate, plus its margin, must
#: still fit under the ceiling).
GROUP_SHARE_PERCENT = 75


def contract_from_file(
    ws: Workspace, obj: dict[str, Any], *, where: str, terms: str | None, base: Path, today: int
) -> ContractInput:
    """A contract of a contract file (the scenario's shape, the workspace's member names), checked as far
    as the client can before sending; `where` names it in a refusal, `today` is the chain's clock (read
    once for a whole file). Its terms document (`terms`, given on the command line, else the contract's
    own `terms`, a path from the file's folder `base`) is hashed, or given as its SHA-256."""
    from ledger.domain.dates import beijing_midnight, format_beijing
    from ledger.domain.scenario import (
        CONTRACT_FIELDS,
        MILESTONE_FIELDS,
        InstrumentDecl,
        parse_contract,
        unknown_contract_fields,
    )
    from ledger.errors import ScenarioError
    from ledger.services.client import contract_input

    unknown = unknown_contract_fields(obj)
    if unknown:  # a misspelt field ("brokr") would otherwise be read as absent
        raise InputError(
            f"{where} names field(s) a contract does not have: {', '.join(unknown)}; a contract has "
            f"{', '.join(sorted(CONTRACT_FIELDS))}, and each milestone {', '.join(sorted(MILESTONE_FIELDS))}"
        )
    names = {name: None for name in ws.names()}
    instruments: dict[str, InstrumentDecl] = {}
    named = obj.get("instrument")
    if isinstance(named, str) and named:  # else the format's own check says what is wrong with it
        try:
            provider, value = ws.client.instrument(named)
        except (InputError, ContractError) as exc:  # an id no instrument can have, or none has
            raise InputError(f"{where}.instrument: {exc}") from None
        instruments[named] = InstrumentDecl(named, ws.name_of(provider), value)
    try:
        decl = parse_contract(obj, names, instruments)
    except ScenarioError as exc:
        raise InputError(str(exc).replace("contracts[0]", where)) from None
    if decl.signed > today:  # a contract is registered once signed: a date ahead is most likely mistyped
        raise InputError(
            f"contract {decl.id} is dated as signed on {format_beijing(decl.signed)}, after today "
            f"({format_beijing(beijing_midnight(today))}, by the chain's clock): register it once it is signed"
        )
    if terms and decl.terms:
        raise InputError(f"{where} gives its terms, and --terms gives them again: give them once")
    return contract_input(decl, address=ws.resolve, terms_hash=terms_hash(terms, decl.terms, where, base))


def terms_hash(option: str | None, field: str | None, where: str, base: Path) -> bytes:
    """The terms hash of a contract: of the `--terms` document, else of the one its `terms` names beside
    the contract file, else none (zero)."""
    from ledger.chain.encoding import sha256_from_hex

    if option or not field:
        return document_sha256(option, "terms")
    if not names_a_file(base / field) and sha256_from_hex(field) is None:
        raise InputError(
            f"{where}.terms: {field!r} is neither a file in {base}/ nor the SHA-256 of the terms document "
            "(64 hexadecimal digits)"
        )
    return document_sha256(field, "terms", base=base)


def checked_contracts(ws: Workspace, entries: list[Any], *, file: str) -> list[tuple[ContractInput, bool]]:
    """Each contract of a file that holds a list, and whether it is registered already with the same
    terms; any that is wrong (in itself, an id the file repeats, an id registered with other terms)
    refuses the whole file with every problem, so that nothing is sent."""
    from ledger.services.rerun import registrations_differences

    if not entries:
        raise InputError(f"the contract file {file} holds an empty list: no contract to register")
    problems: list[tuple[int, str]] = []  # by the contract's place in the file
    parsed: list[tuple[int, ContractInput]] = []
    first_at: dict[str, int] = {}
    today = ws.session.now()
    for i, obj in enumerate(entries):
        where = f"{file}[{i}]"
        if not isinstance(obj, dict):
            problems.append((i, f"{where}: a contract is a JSON object, not {type(obj).__name__}"))
            continue
        try:
            contract = contract_from_file(ws, obj, where=where, terms=None, base=Path(file).parent, today=today)
        except InputError as exc:
            problems.append((i, str(exc) if str(exc).startswith(where) else f"{where}: {exc}"))
            continue
        if contract.id in first_at:
            problems.append((i, f"{where}: contract {contract.id} is also at [{first_at[contract.id]}]"))
            continue
        first_at[contract.id] = i
        parsed.append((i, contract))
    # (the local index is brought up to date only when some contract is left to compare with the chain)
    recorded = registrations_differences(ws, [contract for _, contract in parsed]) if parsed else {}
    checked: list[tuple[ContractInput, bool]] = []
    for i, contract in parsed:
        changes = recorded[contract.id]
        if changes:
            problems.append(
                (i, f"{file}[{i}]: contract {contract.id} is registered with other terms: {'; '.join(changes)}")
            )
            continue
        checked.append((contract, changes is not None))
    if problems:
        many = f"{len(problems)} of the {len(entries)} contracts" if len(problems) > 1 else "a contract"
        listed = "".join(f"\n  {problem}" for _, problem in sorted(problems))
        raise InputError(f"{many} in {file} cannot be registered, so none was sent:{listed}")
    return checked


def register_once(ws: Workspace, signer: LocalAccount, contract: ContractInput) -> bool:
    """Register the contract: True, or False when it was registered already with the same terms (by an
    earlier run, or by one running alongside); refused with what differs when its terms were others."""
    try:
        ws.client.register_contract(signer, contract)
    except ContractError as exc:
        if exc.name != "ContractAlreadyRegistered":
            raise
        from ledger.services.rerun import registration_differences, unless_recorded_alike

        unless_recorded_alike(exc, registration_differences(ws, contract))
        return False
    return True


def register_in_groups(
    client: LedgerClient,
    signer: LocalAccount,
    contracts: list[ContractInput],
    *,
    gas: int,
    alone: Callable[[ContractInput], bool],
) -> Iterator[tuple[ContractInput, bool]]:
    """Register `contracts`, in order, in groups planned within `gas` (`registration_groups`), each one
    transaction, all or none, yielding each contract with True once registered. A contract of a group the
    registry refuses, and one that goes alone, is given to `alone`, which registers it in a transaction
    of its own, so that a refusal is its own contract's, and says what to yield."""
    for group in registration_groups(contracts, gas=gas):
        if len(group) > 1:
            try:
                client.register_contracts(signer, group)
            except ContractError:
                pass
            else:
                yield from ((contract, True) for contract in group)
                continue
        for contract in group:
            yield contract, alone(contract)


def group_gas(session: ChainSession) -> int:
    """The gas a group of contracts is planned within: a share of the chain's transaction gas ceiling."""
    return session.gas_ceiling() * GROUP_SHARE_PERCENT // 100


def registration_groups(contracts: list[ContractInput], *, gas: int) -> list[list[ContractInput]]:
    """`contracts` in order, in groups whose gas bound fits `gas` (one that alone does not, alone)."""
    groups: list[list[ContractInput]] = []
    current: list[ContractInput] = []
    total = 0
    for contract in contracts:
        cost = registration_gas(contract)
        if current and total + cost > gas:
            groups.append(current)
            current, total = [], 0
        current.append(contract)
        total += cost
    if current:
        groups.append(current)
    return groups


def registration_gas(contract: ContractInput) -> int:
    """An upper bound of the gas registering `contract` takes in a group."""
    titles = sum(len(m.title.encode("utf-8")) for m in contract.milestones)
    return REGISTRATION_GAS + MILESTONE_GAS * len(contract.milestones) + TITLE_BYTE_GAS * titles

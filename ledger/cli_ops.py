"""CLI commands for market operators on a deployment: instruments, contracts, milestones, settlements
(one or a file of them), royalties and attestations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.cli import calendar_year, emit, int_in, progress_bar, sync_progress, warn, workspace
from ledger.config import TX_GAS_CAP, Config
from ledger.domain.money import readable_yuan
from ledger.errors import ContractError, InputError, UsageError
from ledger.files import PAYMENT_COLUMNS, REQUIRED_PAYMENT_COLUMNS

if TYPE_CHECKING:
    from ledger.services.client import Outcome
    from ledger.services.workspace import ContractLog, Workspace

SETTLE_EPILOG = f"""\
payments file (import): CSV with a header line, or JSON (a list of objects with the same keys)
  columns   {",".join(PAYMENT_COLUMNS)}
            ({", ".join(REQUIRED_PAYMENT_COLUMNS)} required; the others may be empty)
  ref       the payment's unique reference (the bank receipt's), at most 32 bytes
  contract  the contract's id
  milestone 0-based index; empty for a contract of one milestone
  period    the royalty period a royalty payment is for (then no milestone)
  amount    yuan with at most two decimals, e.g. 1000000.00
  date      2026-05-02 (Beijing midnight; 2026/5/2 as a spreadsheet saves it) or an ISO-8601
            time with offset; years 2000 to 2099
  evidence  SHA-256 of the bank receipt, 64 hexadecimal digits
  kind      cash (the default) or equity

examples:
  ledger settle --ref BANK-0001 --contract TC-1 --milestone 0 --amount 1000000.00 --date 2026-05-02
  ledger settle import bank.csv --check      # every row checked against the chain, nothing sent
  ledger settle import bank.csv --skip-invalid --json
"""


def _date_or_today(ws: Workspace, text: str | None) -> int:
    """The --date given (a date or an ISO-8601 time), else today on the chain's clock (Beijing): a date,
    not the second the command ran, so that the same command run again the same day is a replay."""
    from ledger.domain.dates import beijing_midnight, parse_instant

    return parse_instant(text, what="--date") if text else beijing_midnight(ws.session.now())


def cmd_instrument(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.money import format_yuan, parse_yuan

    ws = workspace(config)
    if args.action == "list":
        return _list_instruments(ws, config)
    if not args.id:
        raise UsageError(f"instrument {args.action} needs the instrument's id")
    if args.action == "show":
        provider, value = ws.client.instrument(args.id)
        emit(
            config,
            {"id": args.id, "provider": provider, "original_value": format_yuan(value)},
            f"instrument {args.id}: shared by {ws.label(provider)}, original value {readable_yuan(value)} yuan",
        )
        return 0
    if args.provider is None or args.value is None:
        raise UsageError("instrument register needs --provider MEMBER and --value YUAN (its original value)")
    provider = ws.resolve(args.provider)
    value = parse_yuan(args.value, what="--value")
    replayed = False
    try:
        ws.client.register_instrument(
            ws.signer(args.signer), instrument_id=args.id, provider=provider, original_value=value
        )
    except ContractError as exc:
        if exc.name != "InstrumentAlreadyRegistered":
            raise
        from ledger.services.rerun import instrument_differences, unless_recorded_alike

        unless_recorded_alike(exc, instrument_differences(ws, args.id, provider=provider, value=value))
        replayed = True
    done = "already registered (nothing changed)" if replayed else "registered"
    emit(
        config,
        {"id": args.id, "provider": provider, "original_value": format_yuan(value), "replayed": replayed},
        f"instrument {args.id} of {ws.name_of(provider)} {done} ({readable_yuan(value)} yuan)",
    )
    return 0


def _list_instruments(ws: Workspace, config: Config) -> int:
    """The registered instruments, in registration order, through the local index."""
    from ledger.chain.encoding import id_text
    from ledger.chain.logs import event_pattern
    from ledger.domain.money import format_yuan
    from ledger.format import table

    rows, data = [], []
    for event in ws.recorded_events(event_pattern("InstrumentRegistered"), on_range=sync_progress(config)):
        provider, value = event.args["provider"], event.args["originalValue"]
        named = {"id": id_text(event.args["instrumentId"]), "provider": ws.name_of(provider)}
        data.append({**named, "address": provider, "original_value": format_yuan(value)})
        rows.append([*named.values(), readable_yuan(value)])
    text = table(["id", "provider", "original value (yuan)"], rows, numeric=(2,)) if rows else "no instruments"
    emit(config, data, text)
    return 0


def cmd_contract(args: argparse.Namespace, config: Config) -> int:
    ws = workspace(config)
    if args.action == "register":
        return _register_contract(ws, args, config)
    if args.action == "show":
        if not args.id:
            raise UsageError("contract show needs the contract id")
        return _show_contract(ws, config, args.id)
    from ledger.domain.dates import format_beijing
    from ledger.domain.money import format_yuan
    from ledger.format import money, table

    # the contracts as recorded, through the local index: their parties, what is received and still due
    state = ws.market_state(on_range=sync_progress(config))
    now = ws.session.now()
    rows, data = [], []
    for contract_id, contract in state.contracts.items():  # in registration order
        overdue = [i for i, m in enumerate(contract.milestones) if m.overdue(now)]
        if args.overdue and not overdue:
            continue
        named = {
            "id": contract_id,
            "kind": contract.kind.label,
            "seller": ws.name_of(contract.seller),
            "buyer": ws.name_of(contract.buyer),
            "signed": format_beijing(contract.signed),
        }
        amounts = {
            "value": format_yuan(contract.value),
            "received": format_yuan(contract.received),
            "outstanding": format_yuan(contract.outstanding),
        }
        data.append({**named, **amounts, "overdue_milestones": overdue})
        # milestones by their number in `contract show` ("#0"), so that one overdue is not read as none
        rows.append([*named.values(), *map(money, amounts.values()), ", ".join(f"#{i}" for i in overdue)])
    headers = ["id", "kind", "seller", "buyer", "signed", "value (yuan)", "received", "outstanding", "overdue"]
    nothing = "no contract has an overdue milestone" if args.overdue else "no contracts"
    emit(config, data, table(headers, rows, numeric=(5, 6, 7)) if rows else nothing)
    return 0


def _register_contract(ws: Workspace, args: argparse.Namespace, config: Config) -> int:
    from ledger.files import read_json_file
    from ledger.services.contract_files import contract_from_file, register_once

    if not args.file:
        raise UsageError("contract register needs --file CONTRACT.json (the scenario's contract shape)")
    obj = read_json_file(Path(args.file), "contract")
    if isinstance(obj, list):
        return _register_contracts(ws, args, config, obj)
    if not isinstance(obj, dict):
        raise InputError("the contract file must hold one JSON object (a contract), or a list of them")
    base, today = Path(args.file).parent, ws.session.now()
    contract = contract_from_file(ws, obj, where=args.file, terms=args.terms, base=base, today=today)
    if register_once(ws, ws.signer(args.signer), contract):
        return _show_contract(ws, config, contract.id, verb="registered", replayed=False)
    verb = "already registered with these terms (nothing changed):"
    return _show_contract(ws, config, contract.id, verb=verb, replayed=True)


def _register_contracts(ws: Workspace, args: argparse.Namespace, config: Config, entries: list[Any]) -> int:
    """A file of many contracts: every one checked first (against the file and the chain), and nothing
    sent while any is wrong; then sent in as few transactions as fit the chain's gas, those registered
    already with the same terms passed over, so that the same command run again after an interruption
    registers only what is left."""
    from ledger.services.contract_files import checked_contracts, group_gas, register_in_groups, register_once

    if args.terms:
        raise UsageError(
            '--terms gives the terms of one contract: in a file of many, each contract names its own ("terms")'
        )
    checked = checked_contracts(ws, entries, file=args.file)
    replayed = {contract.id: recorded for contract, recorded in checked}
    bar = progress_bar("registering contracts")
    done = sum(replayed.values())
    fresh_ids: list[str] = []
    signer = ws.signer(args.signer)
    to_send = [contract for contract, recorded in checked if not recorded]
    groups = register_in_groups(
        ws.client,
        signer,
        to_send,
        gas=group_gas(ws.session),
        alone=lambda contract: register_once(ws, signer, contract),
    )
    try:
        for contract, registered in groups:
            replayed[contract.id] = not registered
            fresh_ids += [contract.id] if registered else []
            done += 1
            if bar is not None:
                bar(done, len(checked))
    except ContractError:
        if fresh_ids:
            warn(f"registered before the refusal: {', '.join(fresh_ids)}; run again, the command passes over them")
        raise
    results = [{"id": contract.id, "replayed": replayed[contract.id]} for contract, _ in checked]
    lines: list[str] = []
    for contract, _ in checked:
        verb = "already registered with these terms:" if replayed[contract.id] else "registered"
        parties = (ws.name_of(contract.seller), ws.name_of(contract.buyer))
        lines.append(
            f"{verb} {_headline(contract.id, contract.kind.label, contract.plan.label, *parties, contract.signed)}"
        )
    fresh = len(fresh_ids)
    lines.append(f"{fresh} registered, {len(results) - fresh} already registered with these terms (nothing changed)")
    emit(config, {"contracts": results, "registered": fresh, "replayed": len(results) - fresh}, "\n".join(lines))
    return 0


def _headline(contract_id: str, kind: str, plan: str, seller: str, buyer: str, signed: int) -> str:
    """A contract in one line, as every command that shows one begins."""
    from ledger.domain.dates import format_beijing

    return f"contract {contract_id}: {kind} ({plan}), {seller} -> {buyer}, signed {format_beijing(signed)}"


def _show_contract(
    ws: Workspace, config: Config, contract_id: str, *, verb: str | None = None, replayed: bool | None = None
) -> int:
    """The contract as recorded now; after a write, `verb` says what it did and `replayed` whether it was
    already recorded (nothing changed)."""
    from ledger.domain.dates import format_beijing
    from ledger.domain.money import format_hundredths, format_yuan
    from ledger.format import money, shown, table

    view = ws.client.contract_view(contract_id)
    milestones = ws.client.milestones(contract_id, view["milestone_count"])
    log = ws.contract_log(contract_id, on_range=sync_progress(config))
    titles = log.titles
    payments: list[dict[str, Any]] = [
        {
            "ref": s.ref,
            "date": format_beijing(s.paid_at),
            "milestone": s.milestone,
            "period": s.period,
            "kind": s.kind.label,
            "amount": format_yuan(s.amount),
        }
        for s in log.payments
    ]
    royalties = _royalty_periods(log)
    now = ws.session.now()
    data = {
        "id": contract_id,
        "kind": view["kind"].label,
        "plan": view["plan"].label,
        "seller": ws.name_of(view["seller"]),
        "buyer": ws.name_of(view["buyer"]),
        "broker": ws.name_of(view["broker"]) if view["broker"] else None,
        "instrument": view["instrument"],
        "signed": format_beijing(view["signed"]),
        "value": format_yuan(view["value"]),
        "received": format_yuan(view["received"]),
        "royalty_bps": view["royalty_bps"],
        # the SHA-256 of the terms document (kept off chain, sealed for the parties), if one was registered
        "terms_sha256": view["terms_hash"].hex() if any(view["terms_hash"]) else None,
        "milestones": [
            {
                "title": titles.get(i, ""),
                "status": m.status,
                "paid": format_yuan(m.paid),
                "due": format_yuan(m.due),
                "due_date": format_beijing(m.due_date),
                "overdue": m.overdue(now),
            }
            for i, m in enumerate(milestones)
        ],
        "royalties": royalties,
        "payments": payments,
    }
    if replayed is not None:
        data["replayed"] = replayed
    head = f"{verb} " if verb else ""
    rate = format_hundredths(view["royalty_bps"]).removesuffix(".00")
    royalty_lines = (
        [
            f"royalty {rate}% of the revenue reported for each period:",
            table(
                ["period", "reported", "revenue (yuan)", "royalty due", "paid"],
                [
                    [r["period"], r["reported"], money(r["revenue"]), money(r["due"]), money(r["paid"])]
                    for r in royalties
                ],
                numeric=(2, 3, 4),
            )
            if royalties
            else "no revenue reported yet",
        ]
        if view["royalty_bps"] or royalties
        else []
    )
    lines = [
        head + _headline(contract_id, data["kind"], data["plan"], data["seller"], data["buyer"], view["signed"]),
        f"value {money(data['value'])} yuan, received {money(data['received'])} yuan",
        *([f"terms document SHA-256 {data['terms_sha256']}"] if data["terms_sha256"] else []),
        table(
            ["#", "title", "status", "paid/due", "due date", "overdue"],
            [
                [
                    i,
                    shown(m["title"]),
                    m["status"],
                    f"{money(m['paid'])}/{money(m['due'])}",
                    m["due_date"],
                    "yes" if m["overdue"] else "",
                ]
                for i, m in enumerate(data["milestones"])
            ],
        ),
        *royalty_lines,
        "payments recorded:" if payments else "no payments recorded",
    ]
    if payments:
        rows = [
            [
                p["ref"],
                p["date"],
                f"period {p['period']}" if p["period"] else f"#{p['milestone']}",
                p["kind"],
                money(p["amount"]),
            ]
            for p in payments
        ]
        lines.append(table(["reference", "date", "for", "kind", "amount (yuan)"], rows, numeric=(4,)))
    emit(config, data, "\n".join(lines))
    return 0


def _royalty_periods(log: ContractLog) -> list[dict[str, str]]:
    """Each reported royalty period of a contract: its revenue, the royalty it made due and what was paid."""
    from ledger.domain.dates import format_beijing
    from ledger.domain.money import format_yuan

    paid = log.royalty_paid()
    return [
        {
            "period": r.period,
            "reported": format_beijing(r.reported_at),
            "revenue": format_yuan(r.revenue),
            "due": format_yuan(r.due),
            "paid": format_yuan(paid.get(r.period, 0)),
        }
        for r in log.reports
    ]


def _reported_periods(ws: Workspace, contract_id: str) -> str:
    """The royalty periods of a contract with revenue reported, to add to a refusal naming another."""
    from ledger.format import reported_periods

    return reported_periods(r.period for r in ws.contract_log(contract_id).reports)


def cmd_milestone(args: argparse.Namespace, config: Config) -> int:
    ws = workspace(config)
    at = _date_or_today(ws, args.date)
    index = args.index
    if index is None:  # as a payment may, an achievement may leave out the milestone of a one-milestone contract
        count = ws.client.contract_view(args.contract)["milestone_count"]
        if count != 1:
            raise InputError(
                f"contract {args.contract} has {count} milestones: name the one achieved, "
                f"`ledger milestone achieve {args.contract} INDEX` (0 to {count - 1})"
            )
        index = 0
    try:
        ws.client.achieve_milestone(ws.signer(args.signer), contract=args.contract, index=index, at=at)
    except ContractError as exc:
        if exc.name != "MilestoneAlreadyAchieved":
            raise
        from ledger.services.rerun import achievement_differences, unless_recorded_alike

        unless_recorded_alike(exc, achievement_differences(ws, args.contract, index, at=at))
        verb = f"milestone {index} was already recorded as achieved on that date (nothing changed);"
        return _show_contract(ws, config, args.contract, verb=verb, replayed=True)
    return _show_contract(ws, config, args.contract, verb=f"milestone {index} achieved;", replayed=False)


def cmd_settle(args: argparse.Namespace, config: Config) -> int:
    if args.action == "import":
        return _import(args, config)
    missing = [
        flag
        for flag, value in (("--ref", args.ref), ("--contract", args.contract), ("--amount", args.amount))
        if not value
    ]
    if missing:
        raise UsageError(f"a payment needs {', '.join(missing)} (or use `ledger settle import FILE`)")
    from ledger.domain.money import format_yuan, parse_yuan
    from ledger.domain.types import SettlementKind
    from ledger.files import document_sha256
    from ledger.services.client import SettlementInput

    ws = workspace(config)
    amount = parse_yuan(args.amount, what="--amount")
    paid_at = _date_or_today(ws, args.date)
    evidence = document_sha256(args.evidence, "evidence")
    if args.period and args.milestone is not None:
        raise InputError("a payment is either for a milestone (--milestone) or a royalty period (--period), not both")
    milestone = args.milestone
    if milestone is None and not args.period and ws.client.contract_view(args.contract)["milestone_count"] == 1:
        milestone = 0  # the only milestone, named as imports and scenarios name it: every resend hashes the same
    settlement = SettlementInput(
        ref=args.ref,
        contract=args.contract,
        amount=amount,
        paid_at=paid_at,
        milestone=milestone,
        period=args.period,
        kind=SettlementKind.EQUITY if args.equity else SettlementKind.CASH,
        evidence_hash=evidence,
    )
    try:
        outcome = ws.client.settle(ws.signer(args.signer), settlement)
    except ContractError as exc:
        if exc.name == "RoyaltyPeriodNotReported":
            raise InputError(f"{exc}{_reported_periods(ws, args.contract)}") from None
        if exc.name != "DuplicatePayment":
            raise
        from ledger.services.rerun import explained_duplicate

        raise explained_duplicate(ws, settlement, exc) from None
    awards = _awards(ws, outcome)
    suspended = [] if outcome.replayed else [ws.name_of(a) for a in ws.client.suspended_parties(args.contract)]
    data = {
        "ref": args.ref,
        "contract": args.contract,
        "amount": format_yuan(amount),
        "replayed": outcome.replayed,
        "tx": outcome.sent.tx_hash,
        "points": awards,
        "suspended_parties": suspended,
    }
    if outcome.replayed:
        text = f"payment {args.ref} was already recorded with the same data: nothing changed"
    else:
        text = f"recorded payment {args.ref}: {readable_yuan(amount)} yuan on {args.contract}" + _awards_text(awards)
        text += "".join(f"\n  {name} is suspended: it earns no points from this payment" for name in suspended)
    emit(config, data, text)
    return 0


def _import(args: argparse.Namespace, config: Config) -> int:
    from ledger.format import count
    from ledger.services.importer import import_file
    from ledger.services.payment_rows import ImportRefused

    if not args.file:
        raise UsageError("settle import needs the file: ledger settle import FILE.csv|FILE.json")
    given = [
        flag
        for flag, value in (
            ("--ref", args.ref),
            ("--contract", args.contract),
            ("--amount", args.amount),
            ("--milestone", args.milestone),
            ("--period", args.period),
            ("--date", args.date),
            ("--equity", args.equity),
            ("--evidence", args.evidence),
        )
        if value not in (None, False)
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for one payment; each row of a payments file "
            "gives its own"
        )
    ws = workspace(config)
    path = Path(args.file)
    if args.check:
        return _check_import(ws, config, path)
    operator = ws.signer(args.signer)

    reject_path = Path(args.reject_file) if args.reject_file else path.with_suffix(path.suffix + ".rejected.csv")
    try:
        result = import_file(
            ws.session,
            path=path,
            state_loader=lambda: ws.market_state(on_range=sync_progress(config)),
            ledger_address=ws.client.addresses["SettlementLedger"],
            operator=operator,
            journal_folder=config.home / "imports",
            skip_invalid=args.skip_invalid,
            reject_path=reject_path if args.skip_invalid else None,
            batch_size=args.batch_size,
            tight_gas=args.tight_gas,
            batch_gas=args.batch_gas,
            progress=progress_bar("recording settlements"),
            recorded=ws.recorded_settlements,
        )
    except ImportRefused as exc:
        if config.json:  # the program's answer on stdout; the sentence follows on stderr
            emit(config, {"sent": 0, "rejected": [p.as_json() for p in exc.problems]}, "")
        raise
    data = result.as_json(name_of=ws.name_of)
    lines = [
        f"{count(result.rows, 'row')}: {result.recorded:,} recorded, {result.replayed:,} already on chain "
        f"(replays), {len(result.rejected):,} rejected; "
        f"{count(result.batches, 'batch', 'batches')} in {result.seconds:.1f} s",
    ]
    if result.resumed_batches:
        lines.append(
            f"resumed an earlier run: checked {count(result.resumed_batches, 'batch', 'batches')} it had in flight"
        )
    if result.replayed_on_arrival:
        lines.append(
            f"{count(result.replayed_on_arrival, 'row')} sent as new came back as already recorded: another import "
            "recorded them meanwhile, or the node lost the blocks that recorded them (`ledger verify` tells which)"
        )
    if result.rejected:
        lines.append(f"rejected rows written to {reject_path}:")
        lines += [f"  line {p.line}: {p.message}" for p in result.rejected]
    lines += _points_lines(data, "points issued by rule:", "are withheld")
    emit(config, data, "\n".join(lines))
    return 3 if result.rejected else 0


def _points_lines(data: dict[str, Any], heading: str, withheld: str) -> list[str]:
    """The points an import's rows issue (or would), by rule, and the suspended parties whose points
    from them are withheld, as `data` has them (formatted points, parties by name)."""
    from ledger.format import count, money

    lines = []
    if data["points_by_rule"]:
        lines.append(heading)
        lines += [f"  {rule:<14}{money(v):>18}" for rule, v in data["points_by_rule"].items()]
    if data["suspended_parties"]:
        lines.append(f"suspended parties, whose points from these rows {withheld}:")
        lines += [f"  {name}: {count(n, 'row')}" for name, n in data["suspended_parties"].items()]
    return lines


def _check_import(ws: Workspace, config: Config, path: Path) -> int:
    """`settle import FILE --check`: every row checked as the import would check it; nothing sent."""
    from ledger.domain.money import format_points
    from ledger.domain.policy import repository_policies
    from ledger.format import count
    from ledger.services.import_check import forecast_points, review_file
    from ledger.services.verify import Verifier

    history = Verifier(documents=repository_policies(), details=False)  # its engine replays every fact
    state = ws.market_state(on_range=sync_progress(config), also=history.feed)
    review = review_file(path, state=state, now=ws.session.now(), recorded=ws.recorded_settlements)
    forecast = forecast_points(history.engine, review.checked.to_send)
    data = review.as_json(name_of=ws.name_of)
    data["points_by_rule"] = {rule: format_points(v) for rule, v in forecast.items()}
    lines = [
        f"{count(review.rows, 'row')}: {len(review.checked.to_send):,} to record, "
        f"{len(review.checked.replays):,} already on chain (replays), {len(review.problems):,} bad; nothing was sent"
    ]
    lines += [f"  line {p.line}: {p.message}" for p in review.problems]
    heading = "points the rows to record would issue, by rule (recomputed here, as `ledger verify` does):"
    lines += _points_lines(data, heading, "would be withheld")
    emit(config, data, "\n".join(lines))
    return 3 if review.problems else 0


def _awards(ws: Workspace, outcome: Outcome) -> list[dict[str, str]]:
    """The points a recorded fact issued, from its transaction's events: member, rule, points."""
    from ledger.chain.encoding import id_text
    from ledger.domain.money import format_points

    return [
        {
            "member": ws.name_of(e.args["member"]),
            "rule": id_text(e.args["ruleId"]),
            "points": format_points(e.args["amount"]),
        }
        for e in outcome.events
        if e.name == "PointsIssued"
    ]


def _awards_text(awards: list[dict[str, str]]) -> str:
    from ledger.format import money

    return "".join(f"\n  {a['member']} earns {money(a['points'])} points ({a['rule']})" for a in awards)


def cmd_royalty(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.money import format_yuan, parse_yuan

    ws = workspace(config)
    head, replayed = "", None
    if args.action == "report":
        if args.revenue is None:
            raise UsageError("a revenue report needs --revenue: the licensee's revenue for the period, in yuan")
        revenue = parse_yuan(args.revenue, what="--revenue")
        at = _date_or_today(ws, args.date)
        try:
            ws.client.report_revenue(
                ws.signer(args.signer), contract=args.contract, period=args.period, revenue=revenue, at=at
            )
            head, replayed = "revenue reported; ", False
        except ContractError as exc:
            if exc.name != "RoyaltyPeriodAlreadyReported":
                raise
            from ledger.services.rerun import report_differences, unless_recorded_alike

            unless_recorded_alike(exc, report_differences(ws, args.contract, args.period, revenue=revenue, at=at))
            head, replayed = "this revenue was already reported (nothing changed); ", True
    reported, due, paid = ws.client.royalty(args.contract, args.period)
    if not reported:
        raise InputError(
            f"no revenue is reported for period {args.period} of contract {args.contract}"
            + _reported_periods(ws, args.contract)
        )
    data = {
        "contract": args.contract,
        "period": args.period,
        "due": format_yuan(due),
        "paid": format_yuan(paid),
        "outstanding": format_yuan(due - paid),
    }
    if replayed is not None:
        data["replayed"] = replayed
    text = (
        f"{head}royalty of {args.contract} for {args.period}: due {readable_yuan(due)}, paid {readable_yuan(paid)}, "
        f"outstanding {readable_yuan(due - paid)} yuan"
    )
    emit(config, data, text)
    return 0


def cmd_attest(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.money import format_yuan, parse_yuan
    from ledger.domain.types import AppointmentTitle

    if args.what == "startup-revenue":
        missing = [flag for flag, value in (("--year", args.year), ("--revenue", args.revenue)) if value is None]
        if missing:
            raise UsageError(f"a start-up revenue attestation needs {' and '.join(missing)}")
    elif args.title is None:
        raise UsageError(f"an appointment attestation needs --title: {' or '.join(AppointmentTitle.choices())}")
    ws = workspace(config)
    member = ws.resolve(args.member)
    at = _date_or_today(ws, args.date)
    data: dict[str, Any] = {"member": ws.name_of(member), "attestation": args.what}
    if args.what == "startup-revenue":
        revenue = parse_yuan(args.revenue, what="--revenue")
        outcome = ws.client.attest_startup_revenue(
            ws.signer(args.signer), member=member, year=args.year, revenue=revenue, at=at
        )
        data |= {"year": args.year, "revenue": format_yuan(revenue)}
        fact = f"the start-up revenue of {ws.label(member)} in {args.year}, {readable_yuan(revenue)} yuan"
        rule = "R11-SME pays an active enterprise once, for revenue reaching its threshold, inside its window"
    else:
        title = AppointmentTitle.parse(args.title)
        outcome = ws.client.attest_appointment(ws.signer(args.signer), member=member, title=title, at=at)
        data["title"] = title.label
        fact = f"the appointment of {ws.label(member)} as {title.label}"
        rule = "R6-TALENT pays an active member once for each title, inside its window"
    awards = _awards(ws, outcome)
    data |= {"replayed": outcome.replayed, "tx": outcome.sent.tx_hash, "points": awards}
    if outcome.replayed:
        text = f"{fact} was already attested with the same data: nothing changed"
    else:
        text = f"attested {fact}" + (_awards_text(awards) or f"\n  no points issued: {rule}")
    emit(config, data, text)
    return 0


def add_operations(sub: Any, common: argparse.ArgumentParser) -> None:
    from ledger.domain.types import MILESTONE_UNSPECIFIED, AppointmentTitle

    operator = argparse.ArgumentParser(add_help=False)
    operator.add_argument("--as", dest="signer", default="operator", help="workspace key that signs (default operator)")

    p = sub.add_parser("instrument", parents=[common, operator], help="register, show and list shared instruments")
    p.add_argument("action", choices=["register", "show", "list"])
    p.add_argument("id", nargs="?", help="register, show: the instrument's id")
    p.add_argument("--provider", default=None, help="register: the member that shares it")
    p.add_argument("--value", default=None, help="register: original value in yuan, e.g. 1500000.00")
    p.set_defaults(handler=cmd_instrument)

    p = sub.add_parser("contract", parents=[common, operator], help="register, show and list technology contracts")
    p.add_argument("action", choices=["register", "show", "list"])
    p.add_argument("id", nargs="?", help="show: the contract's id")
    p.add_argument(
        "--file",
        default=None,
        help="register: the contract as JSON (the scenario's contract shape; its terms, a document beside it), "
        "or a list of contracts",
    )
    p.add_argument(
        "--terms",
        default=None,
        help="register: the terms document, or its SHA-256 in hex (only the SHA-256 goes on chain), of a "
        "contract file that names none",
    )
    p.add_argument("--overdue", action="store_true", help="list: only contracts with a milestone overdue")
    p.set_defaults(handler=cmd_contract)

    p = sub.add_parser("milestone", parents=[common, operator], help="record a milestone as achieved")
    p.add_argument("action", choices=["achieve"])
    p.add_argument("contract", help="the contract's id")
    p.add_argument(
        "index",
        nargs="?",
        type=int_in(0, MILESTONE_UNSPECIFIED - 1, what="the milestone number"),
        help="0-based milestone index (may be left out when the contract has one milestone)",
    )
    p.add_argument("--date", default=None, help="when it was achieved (default: today, Beijing time)")
    p.set_defaults(handler=cmd_milestone)

    p = sub.add_parser("royalty", parents=[common, operator], help="report a royalty period's revenue, or show one")
    p.add_argument("action", choices=["report", "show"])
    p.add_argument("contract", help="the contract's id")
    p.add_argument("period", help="the royalty period, e.g. 2026Q2")
    p.add_argument("--revenue", default=None, help="report: the licensee's revenue in the period, in yuan")
    p.add_argument("--date", default=None, help="report: when it was reported (default: today, Beijing time)")
    p.set_defaults(handler=cmd_royalty)

    p = sub.add_parser("attest", parents=[common, operator], help="attest a start-up's revenue or a talent appointment")
    p.add_argument("what", choices=["startup-revenue", "appointment"])
    p.add_argument("member", help="the member's name in this workspace (or its address)")
    p.add_argument("--year", type=calendar_year, default=None, help="startup-revenue: the year of the revenue")
    p.add_argument("--revenue", default=None, help="startup-revenue: the revenue, in yuan")
    p.add_argument("--title", choices=AppointmentTitle.choices(), default=None, help="appointment: the title")
    p.add_argument("--date", default=None, help="when it was attested (default: today, Beijing time)")
    p.set_defaults(handler=cmd_attest)

    p = sub.add_parser(
        "settle",
        parents=[common, operator],
        help="record one payment received, or `settle import FILE` for many",
        epilog=SETTLE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action", nargs="?", choices=["import"], default=None, help="`import` to record a CSV or JSON file of payments"
    )
    p.add_argument("file", nargs="?", default=None, help="import: the CSV or JSON file of payments")
    p.add_argument("--ref", default=None, help="the unique payment reference (bank receipt)")
    p.add_argument("--contract", default=None, help="the contract's id")
    p.add_argument("--amount", default=None, help="yuan, e.g. 1000000.00")
    p.add_argument("--check", action="store_true", help="import: check every row against the chain and send nothing")
    p.add_argument("--skip-invalid", action="store_true", help="import: send the good rows, write the bad ones aside")
    p.add_argument("--reject-file", default=None, help="import: where the bad rows go (default FILE.rejected.csv)")
    p.add_argument(
        "--batch-size",
        type=int_in(1, what="the number of rows"),
        default=None,
        help="import: at most this many rows per transaction",
    )
    p.add_argument(
        "--batch-gas",
        type=int_in(1, TX_GAS_CAP, what="the gas per batch"),
        default=TX_GAS_CAP,
        help=f"import: gas one batch may be planned to use (default and most: {TX_GAS_CAP}, EIP-7825, "
        "or the chain's block gas limit when that is less)",
    )
    p.add_argument(
        "--tight-gas",
        action="store_true",
        help="import: gas limits follow the gas really used (packs the blocks of a chain with a block time)",
    )
    p.add_argument(
        "--milestone",
        type=int_in(0, MILESTONE_UNSPECIFIED - 1, what="the milestone number"),
        default=None,
        help="0-based index (omit for a one-milestone contract)",
    )
    p.add_argument("--period", default=None, help="royalty period, for a royalty payment")
    p.add_argument("--date", default=None, help="payment date (default: today, Beijing time)")
    p.add_argument("--equity", action="store_true", help="an equity valuation rather than cash")
    p.add_argument(
        "--evidence", default=None, help="evidence document, or its SHA-256 in hex (only the SHA-256 goes on chain)"
    )
    p.set_defaults(handler=cmd_settle)

"""CLI commands on points: balances and histories, redemptions, the policy, verification, statements
and the market report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.cli import EXIT_DISCREPANCY, calendar_year, emit, sync_progress, workspace
from ledger.config import Config
from ledger.domain.money import readable_points, readable_yuan
from ledger.domain.types import MemberStatus
from ledger.errors import ConfigError, InputError
from ledger.format import count

if TYPE_CHECKING:
    from ledger.services.statements import Statement
    from ledger.services.workspace import Workspace


def cmd_points(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.dates import beijing_midnight, format_beijing
    from ledger.domain.money import format_points
    from ledger.format import money, shown, table

    ws = workspace(config)
    address, status = _member(ws, args.member, "points history" if args.action == "history" else "points")
    if args.action == "balance":
        balance = ws.client.balance(address)
        # a suspended member keeps its points, but neither redeems them nor earns more until reinstated
        held = "" if status is MemberStatus.ACTIVE else f" ({status.label}: it redeems and earns none until reinstated)"
        emit(
            config,
            {
                "member": ws.name_of(address),
                "address": address,
                "points": format_points(balance),
                "status": status.label,
            },
            f"{ws.name_of(address)} holds {readable_points(balance)} points{held}",
        )
        return 0
    rows, data = [], []
    for h in ws.client.points_history(address, from_block=ws.record().block):
        what = h.rule if h.rule is not None else f"redeemed: {h.purpose}"
        # an issuance is dated by its payment or attestation, as the rules date it; a redemption by the
        # day of its block (its time is in "time")
        dated = format_beijing(h.dated if h.dated is not None else beijing_midnight(h.recorded_at))
        entry = {
            "block": h.block,
            "time": format_beijing(h.recorded_at, with_time=True),
            "date": dated,
            "contract": h.contract,
            "what": what,
            "source": h.source,
            "points": format_points(h.points),
            "balance": format_points(h.balance),
            "tx": h.tx_hash,
        }
        data.append(entry)
        amounts = [money(format_points(h.points)), money(format_points(h.balance))]
        rows.append([dated, h.contract or "", shown(what), h.source or "", *amounts])
    emit(
        config,
        {"member": ws.name_of(address), "address": address, "history": data},
        table(["date", "contract", "rule or purpose", "for", "points", "balance"], rows, numeric=(4, 5))
        if rows
        else f"{ws.name_of(address)} has no points history",
    )
    return 0


def _member(ws: Workspace, who: str, what: str) -> tuple[str, MemberStatus]:
    """The address of the member `who` names, and its status; an account never enrolled (a mistyped
    address, the operator) is refused as having no `what`, rather than shown as holding nothing."""
    address = ws.resolve(who)
    status = ws.client.member(address).status
    if status is MemberStatus.NONE:
        raise InputError(f"{ws.label(address)} is not a member, so it has no {what}")
    return address, status


def cmd_redeem(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.money import format_points, parse_points
    from ledger.services.redemption import redeem_once

    ws = workspace(config)
    points = parse_points(args.points, what="points")
    if points == 0:  # the contract refuses it as a zero amount; said here in the words of points
        raise InputError("0.00 points redeem nothing: redeem 0.01 points or more")
    if not args.purpose.strip():
        raise InputError("say what the points are for (--purpose)")
    if not args.purpose.isprintable():
        raise InputError(f"the purpose {args.purpose!r} holds a character that does not print (a line break, a tab)")
    if config.keystore is None and not config.key_path(args.member).exists():
        raise ConfigError(
            f"a redemption is signed by the member's own key, and this workspace holds no key named "
            f"{args.member!r} ({config.key_path(args.member)}): redeem where the member's key is, or give it "
            "with --keystore"
        )
    signer = ws.signer(args.member)
    journal = config.home / "redemptions" / f"{signer.address.lower()}.json"
    resumed = redeem_once(ws.client, signer, points=points, purpose=args.purpose, journal=journal)
    balance = ws.client.balance(signer.address)
    head = "finished the redemption an earlier run was interrupted in: " if resumed else ""
    emit(
        config,
        {
            "member": args.member,
            "redeemed": format_points(points),
            "points": format_points(balance),
            "resumed": resumed,
        },
        f"{head}{args.member} redeemed {readable_points(points)} points for {args.purpose}; "
        f"{readable_points(balance)} left",
    )
    return 0


def cmd_policy(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.dates import format_beijing, format_window
    from ledger.domain.money import format_points, format_yuan
    from ledger.domain.policy import RULE_IDS, load_policy, repository_policies
    from ledger.format import table

    # the file first: one that cannot be read is refused before the chain is asked anything
    document = load_policy(Path(args.file) if args.file else None) if args.action != "show" else None
    ws = workspace(config)
    histories = {rule: ws.client.rule_history(rule) for rule in RULE_IDS}
    current = {rule: history[-1] for rule, history in histories.items() if history}
    # a later version of a rule is in force from its own date: only the numbers are compared
    differences = [
        {"rule": spec.id, "field": field, "file": want, "chain": got}
        for spec in (document.rules if document else ())
        for field, want, got in spec.params.differences(current.get(spec.id), effective_from=False)
    ]
    if document is not None and args.action == "publish":
        # the verifier recomputes with the repository's policy files and flags any other version
        in_repository = document.sha256 in {doc.sha256 for doc in repository_policies()}
        data = {"policy": document.id, "sha256": document.sha256, "in_repository": in_repository}
        if not differences:  # publishing it again would add versions that change nothing
            text = f"nothing to publish: the chain's policy already has every number of {document.id}"
            emit(config, {**data, "published": False}, text)
            return 0
        ws.client.publish_document(ws.signer("regulator"), document)
        text = f"published policy {document.id} (sha256 {document.sha256})"
        if not in_repository:
            text += (
                f"\nnote: {args.file} is not one of the repository's policy files (policy/*.toml); "
                f"`ledger verify` reports this version until the file is added there, or given as "
                f"`ledger verify --policy {args.file}`"
            )
        emit(config, {**data, "published": True}, text)
        return 0
    if args.action == "show":
        rows, data = [], {}
        for rule, p in current.items():
            data[rule] = {
                "version": p.version,
                "rate_bps": p.rate_bps,
                "amount": format_points(p.amount),
                "threshold": format_yuan(p.threshold),
                "effective_from": format_beijing(p.effective_from),
                "window": [format_beijing(p.window_start), format_beijing(p.window_end)],
            }
            rows.append(
                [
                    rule,
                    p.version,
                    p.rate_bps,
                    readable_points(p.amount),
                    readable_yuan(p.threshold),
                    format_beijing(p.effective_from),
                    format_window(p.window_start, p.window_end),
                ]
            )
        headers = ["rule", "version", "bps", "fixed points", "threshold (yuan)", "in force from", "window"]
        emit(config, data, table(headers, rows, numeric=(1, 2, 3, 4)))
        return 0
    text = (
        "\n".join(f"{d['rule']}: {d['field']} is {d['chain']} on chain, {d['file']} in the file" for d in differences)
        or "the chain's current policy matches the file"
    )
    emit(config, {"differences": differences}, text)
    return 1 if differences else 0


def _policies(args: argparse.Namespace) -> list[Path]:
    """The published policy files given besides the package's (`--policy FILE`, repeatable)."""
    return [Path(file) for file in args.policy]


def cmd_verify(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.money import format_points

    ws = workspace(config)
    # the member first: a name that is no one's is told before the history is read
    address = ws.resolve(args.member) if args.member is not None else None  # an empty name is refused
    report = ws.verify(fresh=args.fresh, on_range=sync_progress(config), details=False, policies=_policies(args))
    discrepancies = report.discrepancies
    if address is not None:
        discrepancies = [d for d in discrepancies if d.member in (None, address)]
    data: dict[str, Any] = {
        "ok": not discrepancies,
        "block": report.block,
        "events_read": report.events_read,
        "issuances": report.issuance_count,
        "discrepancies": [d.as_json() for d in discrepancies],
    }
    if discrepancies:
        text = f"{count(len(discrepancies), 'discrepancy', 'discrepancies')} as of block {report.block}:\n" + "\n".join(
            f"  [{d.check}] {d.message}" + (f" (block {d.block}, tx {d.tx_hash})" if d.block is not None else "")
            for d in discrepancies
        )
    else:
        text = (
            f"verified as of block {report.block}: {count(report.events_read, 'event')} read, "
            f"{count(report.issuance_count, 'issuance')} recomputed independently from the settlements and the "
            "policy files; all match"
        )
    if address is not None:  # the member's own figures, as the chain holds them and as recomputed
        held, issued = report.balances.get(address, 0), report.issued_by_member.get(address, 0)
        redeemed, expected = report.redeemed.get(address, 0), report.expected_by_member.get(address, 0)
        data["member"] = {
            "address": address,
            "points": format_points(held),
            "issued": format_points(issued),
            "recomputed": format_points(expected),
            "redeemed": format_points(redeemed),
        }
        text += (
            f"\n{ws.label(address)} holds {readable_points(held)} points on chain: issued {readable_points(issued)} "
            f"(recomputed {readable_points(expected)}), redeemed {readable_points(redeemed)}"
        )
    emit(config, data, text)
    return 0 if not discrepancies else EXIT_DISCREPANCY


def cmd_statement(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.policy import load_policy
    from ledger.files import write_file
    from ledger.services.statements import build_statement

    ws = workspace(config)
    address, _ = _member(ws, args.member, "points statement")
    report = ws.verify(on_range=sync_progress(config), policies=_policies(args))
    statement = build_statement(
        report,
        member=ws.name_of(address),
        address=address,
        block_time=ws.session.block_time,
        policy=load_policy(),
        year=args.year,
    )
    if args.output is None:
        fmt = "json" if config.json else args.format
        print(_statement_text(statement, fmt, block=report.block, year=args.year), end="")
        if fmt == "csv":
            # The CSV itself stays rows a spreadsheet reads; whether it is verified goes beside it.
            sys.stderr.write("\n".join(_verdict(statement, report.block)) + "\n")
    else:
        text = _statement_text(statement, args.format, block=report.block, year=args.year)
        # A byte-order mark tells Excel and WPS that a CSV file is UTF-8, so the Chinese titles read right.
        write_file(Path(args.output), text.encode("utf-8-sig" if args.format == "csv" else "utf-8"), "statement")
        verified = "verified" if statement.verified else "NOT VERIFIED"
        summary = (
            f"{args.format} statement of {statement.member}: {count(len(statement.lines), 'line')}, {verified}, "
            f"written to {args.output}"
        )
        data = {
            "output": args.output,
            "format": args.format,
            "lines": len(statement.lines),
            "verified": statement.verified,
        }
        emit(config, data, summary)
    return 0 if statement.verified else EXIT_DISCREPANCY


def _statement_text(statement: Statement, fmt: str, *, block: int | None, year: int | None) -> str:
    """The statement as a table for people, JSON or CSV."""
    import csv
    import io
    import json

    from ledger.format import labelled, shown, spreadsheet_cell, table
    from ledger.services.statements import STATEMENT_COLUMNS

    if fmt == "json":
        return json.dumps(statement.as_json(), ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(STATEMENT_COLUMNS)
        for line in statement.lines:
            cells = line.as_json().items()
            writer.writerow(cell if name in ("points", "balance") else spreadsheet_cell(cell) for name, cell in cells)
        return out.getvalue()
    period = f" for {year}" if year else ""
    rows = [
        [
            line.date,
            line.contract or "-",
            shown(line.reference),
            line.rule or "-",
            line.clause or "-",
            line.basis or "-",
            line.policy_version or "",
            readable_points(line.points),
            readable_points(line.balance),
        ]
        for line in statement.lines
    ]
    headers = ["date", "contract", "reference", "rule", "clause", "basis", "version", "points", "balance"]
    titles = {line.rule: line.rule_title for line in statement.lines}
    lines = [
        f"Points statement of {labelled(statement.member, statement.address)}{period}",
        f"opening balance {readable_points(statement.opening)} points\n",
        table(headers, rows, numeric=(7, 8)) if rows else "no points issued or redeemed",
        "\ntotals by rule",
        *(
            f"  {rule:<14}{readable_points(amount):>16}  {titles.get(rule, '')}"
            for rule, amount in sorted(statement.by_rule.items())
        ),
        f"  {'redeemed':<14}{readable_points(-statement.redeemed):>16}",
        f"closing balance {readable_points(statement.closing)} points",
    ]
    return "\n".join([*lines, *_verdict(statement, block)]) + "\n"


def _verdict(statement: Statement, block: int | None) -> list[str]:
    """The statement's "verified" line, or what stands in the way of one."""
    if statement.verified:
        return [
            f"verified as of block {block}: every point of this statement recomputed independently from its "
            "payment and the policy file"
        ]
    return ["NOT VERIFIED:", *(f"  {problem}" for problem in statement.problems)]


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    from ledger.format import money, table
    from ledger.services.statements import market_report

    ws = workspace(config)
    data = market_report(ws.verify(on_range=sync_progress(config), details=False, policies=_policies(args)))
    rows = [
        [r["year"], r["kind"], r["contracts"], money(r["registered_value"]), money(r["received"])]
        for r in data["by_year_and_kind"]
    ]
    progress = data["target_2028"]["progress_percent"]
    if progress == "0.00" and data["registered_value"] != "0.00":  # floored: something is registered
        progress = "under 0.01"
    lines = [
        "Technology contracts by signing / payment year and kind (yuan)",
        table(["year", "kind", "contracts", "registered value", "received"], rows, numeric=(2, 3, 4))
        if rows
        else "no contracts",
        "",
        "Points issued by rule",
        *(f"  {rule:<14}{money(v):>18}" for rule, v in data["points_by_rule"].items()),
        f"  {'total':<14}{money(data['points_issued']):>18}   (redeemed {money(data['points_redeemed'])})",
        "",
        f"2028 target: {money(data['target_2028']['registered_value'])} yuan of registered contract value; "
        f"registered so far {money(data['registered_value'])} ({progress}%)",
        f"verified as of block {data['block']}: every point recomputed independently"
        if data["verified"]
        else f"NOT VERIFIED as of block {data['block']}: run `ledger verify` for the discrepancies",
    ]
    emit(config, data, "\n".join(lines))
    return 0 if data["verified"] else EXIT_DISCREPANCY  # as `ledger verify` and `ledger statement` exit


def add_points(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("points", parents=[common], help="a member's points balance or history")
    p.add_argument("action", choices=["balance", "history"])
    p.add_argument("member", help="the member's name in this workspace (or its address)")
    p.set_defaults(handler=cmd_points)

    p = sub.add_parser("redeem", parents=[common], help="redeem a member's own points (signed by the member)")
    p.add_argument("member", help="the member whose points these are; its own key signs")
    p.add_argument("points", help="how many, e.g. 100.00")
    p.add_argument("--purpose", required=True, help="what the points pay for (recorded on chain)")
    p.set_defaults(handler=cmd_redeem)

    p = sub.add_parser("policy", parents=[common], help="publish, show or diff the points policy")
    p.add_argument("action", choices=["publish", "show", "diff"])
    p.add_argument("file", nargs="?", help="publish, diff: a policy file (TOML; default policy/mkj-2026.toml)")
    p.set_defaults(handler=cmd_policy)

    policy = argparse.ArgumentParser(add_help=False)
    policy.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FILE",
        help="a published policy file besides the package's (policy/*.toml), to check versions against; repeatable",
    )

    p = sub.add_parser("verify", parents=[common, policy], help="recompute every award from the chain and compare")
    p.add_argument("--member", default=None, help="only the discrepancies of this member (and global ones)")
    p.add_argument("--fresh", action="store_true", help="drop the local index and read the whole log again")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("statement", parents=[common, policy], help="a member's verified points statement")
    p.add_argument("member", help="the member's name in this workspace (or its address)")
    p.add_argument("--year", type=calendar_year, default=None, help="only this Beijing calendar year")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="default table")
    p.add_argument(
        "--output",
        metavar="FILE",
        default=None,
        help="write the statement to FILE (a CSV file starts with a byte-order mark for Excel and WPS)",
    )
    p.set_defaults(handler=cmd_statement)

    p = sub.add_parser("report", parents=[common, policy], help="market report: contract value, points, 2028 target")
    p.set_defaults(handler=cmd_report)

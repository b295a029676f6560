"""The `ledger` command: parses arguments, calls the library, formats the result."""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

from ledger.config import DEFAULT_PORT, Config, default_home, env_path
from ledger.errors import ConfigError, ContractError, InputError, LedgerError, ScenarioError, UsageError

if TYPE_CHECKING:
    from ledger.domain.scenario import Scenario
    from ledger.domain.types import NamedEnum
    from ledger.services.workspace import Workspace

NamedT = TypeVar("NamedT", bound="NamedEnum")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_DISCREPANCY = 4  # a check found a discrepancy: the code of a scenario that fails verification (SPEC §7)

Handler = Callable[[argparse.Namespace, Config], int]


#: How an option's help names the actions it is for: "register: ...", "seal: ...; open: ...".
_FOR_ACTIONS = re.compile(r"(?:^|; )([a-z-]+(?:, [a-z-]+)*): ")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one sentence and exit 2, and refuses an option given to an
    action its help does not name (`ledger instrument list --provider imu` would list every instrument)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action_dest: str | None = None  # the first positional argument: the action, where there is one
        self.scoped: list[tuple[argparse.Action, list[str]]] = []  # options, and the actions they are for
        self.commands: dict[str, argparse.ArgumentParser] = {}  # the top-level parser's commands, by name

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        added = super().add_argument(*args, **kwargs)
        if not added.option_strings and self.action_dest is None:
            self.action_dest = added.dest
            return added
        named = [name for group in _FOR_ACTIONS.findall(added.help or "") for name in group.split(", ")]
        if named:
            self.scoped.append((added, named))
        return added

    def misplaced_option(self, args: argparse.Namespace) -> str | None:
        """Why an option or argument given is not for the action chosen, or an option is given empty
        (`--output ""` would be the current folder), if one is."""
        for option in self._actions:  # its own options, and those of its parents
            value = getattr(args, option.dest, None)
            if option.option_strings and (value == "" or (isinstance(value, list) and "" in value)):
                leave = "" if option.required else ", or leave it out"
                return f"{option.option_strings[-1]} is empty: give it a value{leave}"
        chosen = getattr(args, self.action_dest) if self.action_dest else None
        for option, actions in self.scoped:
            given = getattr(args, option.dest)
            if chosen in actions or given == option.default:
                continue
            if not option.option_strings:  # an argument left over: `ledger member list imu`
                return f"`{self.prog} {chosen}` takes no {option.dest} ({given!r} is left over)"
            meant = " or ".join(f"`{self.prog} {action}`" for action in actions)
            return f"{option.option_strings[-1]} is for {meant} only"
        return None

    def unknown_options(self, words: list[str]) -> list[str]:
        """The words that are options this parser does not take, neither whole nor as the start of one (as
        argparse takes `--skip` for `--skip-invalid`): found before parsing, which would otherwise read the
        value of a mistyped option as an argument (`settle --ammount 1`: the action "1")."""
        names = self._option_names()
        unknown = []
        for word in words:
            if word == "--":
                break
            typed = word.partition("=")[0]
            if typed.startswith("--") and not any(name.startswith(typed) for name in names):
                unknown.append(word)
        return unknown

    def _option_names(self) -> list[str]:
        return [name for option in self._actions for name in option.option_strings]

    def unrecognized(self, extra: list[str]) -> str:
        """What to say of arguments it does not take: each, and the options spelt like the first option
        among them (`--ammount`: did you mean --amount?)."""
        from ledger.format import near_misses

        message = f"unrecognized arguments: {' '.join(extra)}"
        typed = next((word.partition("=")[0] for word in extra if word.startswith("--")), None)
        if typed is None:
            return message
        return message + near_misses(typed, self._option_names())

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(EXIT_USAGE)


class _Version(argparse.Action):
    """`ledger --version`: the package, and the contracts it deploys (their compiler and the hash of their
    sources), read only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        from ledger.chain.artifacts import load_document

        try:
            release = version("mkj-ledger")
        except PackageNotFoundError:  # run from a source tree that was never installed
            release = "(source tree, not installed)"
        built = load_document()
        compiler, sources = str(built["compiler"]).split("+", 1)[0], built["sources_hash"][:16]
        print(f"ledger {release} (contracts: solc {compiler}, sources sha256 {sources})")
        parser.exit()


def emit(config: Config, data: Any, text: str) -> None:
    if config.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(text)


def progress_bar(
    label: str, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
) -> Callable[[int, int], None] | None:
    """A bar on a terminal (stderr unless `stream`; None when it is no terminal): how far, how fast, how
    long still to go, redrawn at most ten times a second, and the time taken once done."""
    out = stream or sys.stderr
    if not out.isatty():
        return None
    started = clock()
    drawn = [-1.0]  # when it was last drawn

    def show(done: int, total: int) -> None:
        now = clock()
        finished = done >= total
        if not finished and now - drawn[0] < 0.1:
            return
        drawn[0] = now
        elapsed = now - started
        filled = 30 * min(done, total) // max(total, 1)
        line = f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}"
        if finished:
            line += f" in {elapsed:,.1f} s"
        elif done and elapsed >= 1:  # a rate read from less than a second of work says little
            rate = done / elapsed
            line += f", {rate:,.0f}/s, {(total - done) / rate:,.0f} s to go"
        # the rest of the line cleared (the previous one may have been longer); a new line once done
        out.write(line + "\x1b[K" + ("\n" if finished else ""))
        out.flush()

    return show


def sync_progress(config: Config) -> Callable[[int, int, int], None] | None:
    """A progress bar for reading the chain's log (None when stderr is not a terminal)."""
    bar = progress_bar("reading the chain's log (blocks)")
    if bar is None:
        return None
    return lambda done, total, _logs: bar(done, total)


def workspace(config: Config) -> Workspace:
    """The workspace the command works in (imported here: web3 loads only for commands that use it)."""
    from ledger.services.workspace import Workspace

    return Workspace(config, warn=warn)


def warn(text: str) -> None:
    """Tell the person something that stops nothing (on stderr, away from the output a program reads)."""
    sys.stderr.write(f"warning: {text}\n")


# --- scenario commands ----------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.scenario import load_scenario

    try:
        scenario = load_scenario(Path(args.file))
    except ScenarioError as exc:
        sys.stderr.write(f"invalid scenario: {_cut_long_values(str(exc))}\n")
        return EXIT_USAGE
    return _play(scenario, config, demo=False)


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.scenario import load_scenario

    path = Path(__file__).resolve().parent / "data" / "demo-scenario.json"
    return _play(load_scenario(path), config, demo=True)


def _play(scenario: Scenario, config: Config, *, demo: bool) -> int:
    from ledger.format import run_summary
    from ledger.services.runner import EXIT_OK, run_scenario

    for warning in scenario.warnings:
        warn(f"{scenario.source}: {warning}")
    access = workspace(config).node_access(config.rpc) if config.rpc else None
    result = run_scenario(scenario, rpc=config.rpc, access=access, progress=progress_bar("playing events"))
    if config.json:
        for refused in result.unregistered:  # SPEC section 7's `rejected` lists events; this is said here
            warn(f"contract {refused.contract} was not registered: {refused.error}: {refused.message}")
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        if demo:
            chain = f"the chain at {config.rpc}" if config.rpc else "an embedded chain"
            print(f"mkj-ledger demo: a technology market's year on {chain}\n")
        print(run_summary(result))
    if demo:
        return EXIT_DISCREPANCY if not result.verification.ok else EXIT_OK
    return result.exit_code


# --- deployment and node ----------------------------------------------------------------------


def cmd_deploy(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.policy import load_policy

    ws = workspace(config)
    policy = load_policy(Path(args.policy) if args.policy else None)
    record = ws.deploy(force=args.force)
    ws.client.publish_document(ws.signer("regulator"), policy)
    data = {
        "chain_id": record.chain_id,
        "addresses": record.addresses,
        "block": record.block,
        "regulator": record.regulator,
        "policy": policy.id,
        "policy_sha256": policy.sha256,
        "record": str(config.deployment_path),
    }
    lines = [f"deployed on chain {record.chain_id} from block {record.block}:"]
    lines += [f"  {name:<17} {address}" for name, address in record.addresses.items()]
    lines.append(f"policy {policy.id} published (sha256 {policy.sha256[:16]}...)")
    lines.append(f"deployment record written to {config.deployment_path}")
    emit(config, data, "\n".join(lines))
    return 0


def cmd_node(args: argparse.Namespace, config: Config) -> int:
    from ledger.node import LocalNode

    node = LocalNode(config.node_dir, port=args.port or workspace(config).node_port())
    if args.action == "start":
        status = node.start()
    elif args.action == "stop":
        stopped = node.stop()
        emit(config, {"stopped": stopped}, "node stopped, state kept" if stopped else "no node was running")
        return 0
    else:
        status = node.status()
    data = {
        "running": status.running,
        "url": status.url,
        "pid": status.pid,
        "block": status.block,
        "state_file": str(status.state_file),
    }
    if status.running:
        text = f"node running at {status.url} (pid {status.pid}, block {status.block}); state in {status.state_file}"
    else:
        text = "no node running"
    emit(config, data, text)
    if status.running:
        return 0
    # `status` answers like a service's status (3: not running), so a script can start the node only when needed
    return EXIT_NOT_RUNNING if args.action == "status" else EXIT_ERROR


def cmd_key(args: argparse.Namespace, config: Config) -> int:
    if config.keystore is not None:  # `key new NAME --keystore FILE` would write NAME's key elsewhere unasked
        raise UsageError(
            f"key {args.action} works on the workspace's keys ({config.keys_dir}/NAME.json); --keystore names "
            "a keystore that signs another command (for keys kept in another folder, give that workspace's --home)"
        )
    if args.action == "list":
        return _list_keys(config)
    if not args.name:
        raise UsageError("key new needs the key's name")
    address = workspace(config).new_key(args.name)
    emit(
        config,
        {"name": args.name, "address": address, "keystore": str(config.key_path(args.name))},
        f"new key {args.name}: {address} (encrypted in {config.key_path(args.name)})",
    )
    return 0


def _list_keys(config: Config) -> int:
    """The workspace's keystores: names and addresses (read without decrypting anything)."""
    from ledger.format import table
    from ledger.keys import keystore_address

    keys: list[dict[str, Any]] = []
    for path in sorted(config.keys_dir.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            keys.append({"name": path.stem, "address": keystore_address(path), "keystore": str(path)})
        except ConfigError as exc:  # one damaged file is named; it does not hide the others
            keys.append({"name": path.stem, "address": None, "keystore": str(path), "problem": str(exc)})
    rows = [[k["name"], k["address"] or "(not a readable keystore file)"] for k in keys]
    emit(config, keys, table(["name", "address"], rows) if keys else "no keys")
    return 0


# --- members and operators ----------------------------------------------------------------------


def cmd_member(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.types import MemberKind
    from ledger.domain.uscc import validate_uscc

    if args.action != "list" and not args.name:
        raise UsageError(f"member {args.action} needs the member's name")
    if args.action == "enrol" and not args.kind:
        raise UsageError("member enrol needs --kind")
    ws = workspace(config)
    if args.action == "enrol":
        kind = _parse_enum(MemberKind, args.kind, "--kind")
        uscc = validate_uscc(args.uscc) if args.uscc else None
        if uscc is None and kind.needs_credit_code:
            raise InputError(f"a member of kind {kind.label} needs its unified social credit code (--uscc)")
        regulator = ws.signer("regulator")
        from ledger.cli_identity import enrolment_address, enrolment_cert, enrolment_fingerprint

        cert = enrolment_cert(config, args.name, args.cert)
        held = ws.keystore_address(args.name)  # the account of the member's key in this workspace, if any
        address = enrolment_address(ws, args.name, args.address, cert, held)
        fingerprint = enrolment_fingerprint(ws, args.name, address, uscc, cert, args.proof, held)
        if uscc is not None:
            from ledger.chain.encoding import uscc_hash

            _one_active_account(ws, uscc_hash(uscc), address, f"credit code {uscc}")
        if kind.trades and ws.client.is_operator(address):
            raise InputError(
                f"{ws.label(address)} is an operator: an operator records the payments that earn members their "
                f"points, so it is not enrolled as a member trading on the market ({kind.label}: it could record "
                "payments to itself); enrol the "
                f"member at an account of its own, or remove the operator first (`ledger operator remove "
                f"{ws.name_of(address)}`)"
            )
        replayed = False
        try:
            ws.client.enrol(
                regulator, account=address, kind=kind, in_region=args.in_region, uscc=uscc, cert_fingerprint=fingerprint
            )
        except ContractError as exc:
            if exc.name != "MemberAlreadyEnrolled":
                raise
            from ledger.services.rerun import enrolment_differences, unless_recorded_alike

            changes = enrolment_differences(
                ws.client.member(address), kind=kind, in_region=args.in_region, uscc=uscc, fingerprint=fingerprint
            )
            unless_recorded_alike(exc, changes)
            replayed = True
        ws.remember(args.name, address)  # only now: a refused enrolment leaves the name book as it was
        verb = "already enrolled with these particulars (nothing changed):" if replayed else "enrolled"
        return _show_member(ws, config, address, verb=verb, replayed=replayed)
    if args.action in ("suspend", "reinstate"):
        address = ws.resolve(args.name)
        regulator = ws.signer("regulator")
        if args.action == "reinstate":
            code_hash = ws.client.member(address).uscc_hash
            if any(code_hash):  # an individual has no credit code
                _one_active_account(ws, code_hash, address, "its credit code")
        done = args.action + ("ed" if args.action == "suspend" else "d")
        try:
            getattr(ws.client, args.action)(regulator, address)
        except ContractError as exc:
            from ledger.services.rerun import status_change_done_before

            if not status_change_done_before(ws, exc, address):
                raise
            return _show_member(ws, config, address, verb=f"already {done} (nothing changed):", replayed=True)
        return _show_member(ws, config, address, verb=done, replayed=False)
    if args.action == "show":
        return _show_member(ws, config, ws.resolve(args.name), verb=None)
    from ledger.cli_identity import certificate_status, certificate_statuses
    from ledger.domain.money import format_points, readable_points
    from ledger.format import table

    members = ws.client.members()
    issued = certificate_statuses(config)  # in the office that holds the authority: each certificate's status
    rows, data = [], []
    for m, points in zip(members, ws.client.balances([m.address for m in members]), strict=True):
        entry = {
            "name": ws.name_of(m.address),
            "address": m.address,
            "kind": m.kind.label,
            "status": m.status.label,
            "in_region": m.in_region,
            "certificate": certificate_status(issued, m.cert_fingerprint, m.address),
            "points": format_points(points),
        }
        data.append(entry)
        in_region = "yes" if m.in_region else "no"
        named = entry["name"] if entry["name"] != m.address else "-"  # a name this workspace gave it, if any
        row = [named, m.address, m.kind.label, m.status.label, in_region, readable_points(points)]
        rows.append(row if issued is None else [*row[:5], entry["certificate"] or "-", row[5]])
    headers = ["name", "address", "kind", "status", "in region", "points"]
    if issued is not None:
        headers.insert(5, "certificate")
    if all(row[0] == "-" for row in rows):  # a reader's workspace, which names no one: accounts alone
        headers, rows = headers[1:], [row[1:] for row in rows]
    emit(config, data, table(headers, rows, numeric=(len(headers) - 1,)) if rows else "no members")
    return 0


def _one_active_account(ws: Workspace, code_hash: bytes, address: str, code: str) -> None:
    """Refuse to make `address` an active member with a credit code (`code_hash`; `code` says it) that
    an active member holds at another account (`Workspace.active_account_with`)."""
    other = ws.active_account_with(code_hash, besides=address)
    if other is not None:
        raise InputError(
            f"{code} is already enrolled at {ws.label(other)}, an active member: an institution "
            "is one member, whose once-only awards would otherwise be paid twice; to move it to another "
            f"account, suspend the one it leaves first (`ledger member suspend {ws.name_of(other)}`)"
        )


def _show_member(ws: Workspace, config: Config, address: str, *, verb: str | None, replayed: bool | None = None) -> int:
    """The member as recorded now; after a write, `verb` says what it did and `replayed` whether it was
    already recorded (nothing changed)."""
    from ledger.domain.money import format_points, group_thousands
    from ledger.domain.types import MemberStatus

    m = ws.client.member(address)
    if m.status is MemberStatus.NONE:
        raise InputError(f"{ws.label(address)} is not a member")
    balance = ws.client.balance(address)
    data = {
        "name": ws.name_of(address),
        "address": address,
        "kind": m.kind.label,
        "status": m.status.label,
        "in_region": m.in_region,
        "uscc_hash": "0x" + m.uscc_hash.hex(),
        "cert_fingerprint": "0x" + m.cert_fingerprint.hex(),
        "points": format_points(balance),
    }
    from ledger.cli_identity import certificate_status, certificate_statuses

    certificate = certificate_status(certificate_statuses(config), m.cert_fingerprint, address)
    data["certificate"] = certificate
    if replayed is not None:
        data["replayed"] = replayed
    head = f"{verb} " if verb else ""
    text = (
        f"{head}{ws.label(address)}: {m.kind.label}, {m.status.label}, "
        f"{'in region' if m.in_region else 'outside the region'}, {group_thousands(format_points(balance))} points"
    )
    said = {"expired": "has expired", "revoked": "was revoked", "not issued by this authority": "was not issued here"}
    if certificate in said:  # the regulator decides whether it may still act
        text += f"; the certificate it was enrolled with {said[certificate]}"
    emit(config, data, text)
    return 0


def cmd_operator(args: argparse.Namespace, config: Config) -> int:
    from ledger.format import table

    ws = workspace(config)
    if args.action == "list":
        operators = ws.operators(on_range=sync_progress(config))
        rows = [[ws.name_of(a), a] for a in operators]
        text = table(["name", "address"], rows) if rows else "no operators"
        emit(config, [{"name": name, "address": address} for name, address in rows], text)
        return 0
    if args.name is None:
        raise UsageError(f"operator {args.action} needs the operator's name")
    regulator = ws.signer("regulator")  # before a new operator key is made: a refusal leaves none
    try:
        address = ws.resolve(args.name)
    except InputError:
        if args.action == "remove":
            raise
        address = ws.keystore_address(args.name) or ws.new_key(args.name)
    if args.action == "add":
        member = ws.client.member(address)
        if member.kind.trades:  # an enrolled institution, or a person
            raise InputError(
                f"{ws.label(address)} is a member ({member.kind.label}): an operator records the payments that "
                "earn members their points, so a member trading on the market is not made one (it could record "
                "payments to itself); appoint an account of the market's operator"
            )
        ws.client.appoint_operator(regulator, address)
    else:
        ws.client.remove_operator(regulator, address)
    is_operator = ws.client.is_operator(address)
    emit(
        config,
        {"name": ws.name_of(address), "address": address, "operator": is_operator},
        f"{ws.label(address)} {'is' if is_operator else 'is not'} an operator",
    )
    return 0


# --- helpers ----------------------------------------------------------------------------------


def whole_number(text: str, *, what: str) -> int:
    """`text` read as a whole number written in ASCII digits (with a minus sign, perhaps), else an
    argparse error: int() alone would also take "２" or "٣" typed in another script, and "1_000"."""
    from ledger.domain.typed import full_width_note

    if _WHOLE_NUMBER.fullmatch(text):
        return int(text)
    note = full_width_note(text, reads=_WHOLE_NUMBER.fullmatch)
    if note is not None:
        raise argparse.ArgumentTypeError(f"{what} {text!r} {note}")
    raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}")


#: A whole number on the command line: ASCII digits, few enough for int() to read.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}")


def int_in(low: int, high: int | None = None, *, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` (to `high`), else a sentence saying what is allowed."""

    def parse(text: str) -> int:
        value = whole_number(text, what=what)
        if value < low or (high is not None and value > high):
            allowed = f"from {low:,} to {high:,}" if high is not None else f"{low:,} or more"
            raise argparse.ArgumentTypeError(f"{what} must be {allowed}, not {text}")
        return value

    return parse


def calendar_year(text: str) -> int:
    """An argparse type: a year the ledger records, else a sentence."""
    from ledger.domain.dates import FIRST_YEAR, LAST_YEAR, is_recorded_year

    year = whole_number(text, what="the year")
    if not is_recorded_year(year):
        raise argparse.ArgumentTypeError(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}, not {text}")
    return year


def _parse_enum(enum: type[NamedT], value: str, flag: str) -> NamedT:
    try:
        return enum.parse(value)
    except ValueError as exc:
        raise InputError(f"{flag}: {exc}") from None


def _common_options(*, playing: bool) -> _Parser:
    """The options every command takes: its output, its workspace, the node it reaches and how, its key and
    its index. `run` and `demo` (`playing`) take them too, on a chain and with accounts of their own, and
    keep no index: their help says which do nothing there."""
    parser = _Parser(add_help=False)
    parser.add_argument("--json", action="store_true", help="print one JSON object for programs")
    parser.add_argument("--home", type=Path, default=None, help="workspace folder (default .ledger or $LEDGER_HOME)")
    rpc_help = (
        "JSON-RPC URL of a chain to play on (default: an embedded chain of its own)"
        if playing
        else "JSON-RPC URL of the chain (default: the deployment's, or the local node)"
    )
    parser.add_argument("--rpc", default=None, help=rpc_help)
    parser.add_argument(
        "--rpc-ca",
        type=Path,
        default=None,
        metavar="FILE",
        help="certificate authority (PEM) of an https node whose certificate a private network issued "
        "(default $LEDGER_RPC_CA, for https nodes)",
    )
    parser.add_argument(
        "--rpc-token-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="file holding the bearer token (JWT) a node's JSON-RPC requires (default $LEDGER_RPC_TOKEN_FILE)",
    )
    parser.add_argument(
        "--rpc-user",
        default=None,
        metavar="NAME",
        help="user who logs in to a node's JSON-RPC with a password: Besu's username-and-password "
        "authentication (default $LEDGER_RPC_USER, except for this workspace's own node)",
    )
    parser.add_argument(
        "--rpc-password-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="file holding that user's password (default $LEDGER_RPC_PASSWORD_FILE, else $LEDGER_RPC_PASSWORD, "
        "else asked on the terminal)",
    )
    unused = "not used: a run signs with accounts it makes for itself"
    parser.add_argument(
        "--keystore", type=Path, default=None, help=unused if playing else "encrypted keystore that signs"
    )
    parser.add_argument(
        "--passphrase-file", type=Path, default=None, help=unused if playing else "file holding the keystore passphrase"
    )
    index_help = "not used: a run keeps no index" if playing else "folder of the local event index (a cache)"
    parser.add_argument("--index-dir", type=Path, default=None, help=index_help)
    return parser


def build_parser() -> _Parser:
    from ledger.domain.types import MemberKind

    common, playing = _common_options(playing=False), _common_options(playing=True)

    parser = _Parser(prog="ledger", description="Settlement-and-points ledger of the MKJ technology market.")
    parser.add_argument("--version", action=_Version, help="the ledger's version and its contracts' compiler")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", parents=[playing], help="play a scenario file on a fresh chain and verify it")
    p.add_argument("file", help="the scenario (JSON, SPEC §7)")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("demo", parents=[playing], help="play the bundled demonstration scenario")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("deploy", parents=[common], help="deploy the contracts and publish the policy")
    p.add_argument("--force", action="store_true", help="deploy anew over an existing deployment record")
    p.add_argument("--policy", default=None, help="policy file (default: the bundled policy)")
    p.set_defaults(handler=cmd_deploy)

    p = sub.add_parser("node", parents=[common], help="a local development node (anvil) with state on disk")
    p.add_argument("action", choices=["start", "stop", "status"], help="status exits 3 when no node is running")
    port_help = f"loopback port (default: the one the workspace's contracts were deployed through, else {DEFAULT_PORT})"
    p.add_argument("--port", type=int_in(1, 65_535, what="the port"), default=None, help=port_help)
    p.set_defaults(handler=cmd_node)

    p = sub.add_parser("key", parents=[common], help="encrypted keystores")
    p.add_argument("action", choices=["new", "list"])
    p.add_argument("name", nargs="?", help="new: the key's name")
    p.set_defaults(handler=cmd_key)

    p = sub.add_parser("member", parents=[common], help="enrol, suspend, reinstate, show and list members")
    p.add_argument("action", choices=["enrol", "suspend", "reinstate", "show", "list"])
    p.add_argument(
        "name", nargs="?", help="enrol, suspend, reinstate, show: the member's name in this workspace (or its address)"
    )
    p.add_argument("--kind", default=None, help=f"enrol: one of {', '.join(MemberKind.choices())}")
    p.add_argument(
        "--uscc",
        default=None,
        help="enrol: unified social credit code (18 characters; none for an individual, optional for a broker)",
    )
    p.add_argument("--in-region", action="store_true", help="enrol: the member is in the region")
    p.add_argument(
        "--address", default=None, help="enrol: the member's account (default: its key here, else its certificate's)"
    )
    p.add_argument("--cert", default=None, help="enrol: the member's certificate (default: the workspace's)")
    p.add_argument("--proof", default=None, help="enrol: the member's signature of the challenge (`ledger prove`)")
    p.set_defaults(handler=cmd_member)

    p = sub.add_parser("operator", parents=[common], help="appoint, remove or list market operators")
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("name", nargs="?", help="add, remove: a workspace key's name (add makes the key if it is new)")
    p.set_defaults(handler=cmd_operator)

    from ledger.cli_identity import add_identity
    from ledger.cli_ops import add_operations
    from ledger.cli_points import add_points

    add_operations(sub, common)
    add_points(sub, common)
    add_identity(sub, common)
    for command in sub.choices.values():  # a usage error found by a command is told as its parser tells one
        command.set_defaults(command_parser=command)
    parser.commands = dict(sub.choices)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if words and not words[0].startswith("-") and words[0] not in parser.commands:
        from ledger.format import near_misses

        parser.error(f"there is no command {words[0]!r}{near_misses(words[0], parser.commands)}")
    command = parser.commands.get(words[0]) if words else None
    if isinstance(command, _Parser) and (unknown := command.unknown_options(words[1:])):
        command.error(command.unrecognized(unknown))
    args, extra = parser.parse_known_args(words)
    if extra:  # told by the command they were given to, which knows what it does take
        args.command_parser.error(args.command_parser.unrecognized(extra))
    config = Config(
        home=args.home or default_home(),
        rpc=args.rpc,
        keystore=args.keystore,
        passphrase_file=args.passphrase_file,
        json=args.json,
        index_dir=args.index_dir,
        rpc_ca=args.rpc_ca,
        rpc_ca_env=env_path("LEDGER_RPC_CA"),
        rpc_token_file=args.rpc_token_file or env_path("LEDGER_RPC_TOKEN_FILE"),
        rpc_user=args.rpc_user or None,
        rpc_user_env=os.environ.get("LEDGER_RPC_USER") or None,
        rpc_password_file=args.rpc_password_file or env_path("LEDGER_RPC_PASSWORD_FILE"),
    )
    handler: Handler = args.handler
    command_parser: _Parser = args.command_parser
    misplaced = command_parser.misplaced_option(args)
    if misplaced is not None:
        command_parser.error(misplaced)
    try:
        return handler(args, config)
    except UsageError as exc:
        command_parser.error(str(exc))
    except LedgerError as exc:
        message = _cut_long_values(f"{exc}{_near_contract_ids(exc, config)}")
        sys.stderr.write(f"error: {message}\n")
        if config.json:  # a program reads what was refused, by its name, from the output it parses
            name = exc.name if isinstance(exc, ContractError) else type(exc).__name__
            print(json.dumps({"error": name, "message": message}, ensure_ascii=False))
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write(f"interrupted: {_after_interrupt(args)}\n")
        return 130
    except BrokenPipeError:
        _stdout_to_null()
        return EXIT_ERROR
    except OSError as exc:
        if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
            _stdout_to_null()  # the output itself could not be written (a full disk, a dead terminal)
            sys.stderr.write(f"error: cannot write the output: {exc.strerror}\n")
            return EXIT_ERROR
        if exc.filename is None:
            raise  # not a file the person named or can fix: a fault of the ledger, shown whole
        # A folder or file of the workspace that cannot be made or written (the services word their
        # own input files; this is the edge for the rest: --home, the node's folder, keystores).
        sys.stderr.write(f"error: cannot use {exc.filename}: {exc.strerror or exc}\n")
        return EXIT_ERROR


#: A value quoted in a refusal that is longer than a person reads at a glance (a whole file pasted as a name).
_LONG_QUOTED = re.compile(r"'([^'\n]{81,})'")
#: An unquoted word longer than any path a person types (a whole file pasted as a file name).
_LONG_WORD = re.compile(r"[^\s':;,]{1001,}")


def _cut_long_values(message: str) -> str:
    """The refusal with each quoted value over 80 characters, and each word over 1,000 (a file name no
    file can have), cut to its first 40 and its length, so that it stays one line a person reads."""
    message = _LONG_QUOTED.sub(lambda m: f"'{m[1][:40]}...' ({len(m[1]):,} characters)", message)
    return _LONG_WORD.sub(lambda m: f"{m[0][:40]}... ({len(m[0]):,} characters)", message)


def _near_contract_ids(error: LedgerError, config: Config) -> str:
    """After a contract's refusal of an unknown contract id, by whichever command, the registered ids
    spelt most like it (`TC1`: "did you mean TC-1?"); nothing when none is, or they cannot be read."""
    if not isinstance(error, ContractError) or error.name != "UnknownContract":
        return ""
    from ledger.chain.encoding import id_text
    from ledger.format import near_misses
    from ledger.services.workspace import Workspace

    try:  # a workspace of its own, which warns of nothing the command's own has not warned of already
        return near_misses(id_text(error.arguments["contractId"]), Workspace(config).contract_ids())
    except (LedgerError, OSError):  # the refusal stands on its own
        return ""


def _stdout_to_null() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush of what could not be
    written fails no second time (with a message of its own) as the command exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, io.UnsupportedOperation):  # no file descriptor: a test's captured output
        pass


#: Commands, and actions of commands, that only read: Ctrl-C leaves nothing half done.
READING_COMMANDS = frozenset({"verify", "statement", "report", "points"})
READING_ACTIONS = frozenset({"show", "list", "diff", "status"})


def _after_interrupt(args: argparse.Namespace) -> str:
    """What Ctrl-C left behind: a scenario starts over on a fresh deployment, a reading changed nothing,
    anything else resumes."""
    if args.command in ("run", "demo"):
        return "the scenario was not finished; run again, it plays from the start on a fresh deployment"
    if args.command in READING_COMMANDS or getattr(args, "action", None) in READING_ACTIONS:
        return "the command only reads, so nothing changed; run it again for the answer"
    return "nothing more was sent; run the same command again to resume"


def entry() -> None:
    # A terminal whose encoding has no Chinese (Latin-1, ASCII) shows a member's name as \u escapes
    # rather than the command failing on it half-way through its output.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    sys.exit(main())


if __name__ == "__main__":
    entry()

"""The operator's workspace: a deployment on a JSON-RPC chain, local keystores and a name book.

This is what the stateful CLI commands (`deploy`, `member`, `settle`, ...) work through, so that a
sequence of separate `ledger` processes acts on one chain. The chain's modules (web3 and what it
brings, a second or more to import) load when a command first needs the chain or a key, so that
commands that need neither (`ca init`, `key list`, ...) start at once.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.config import DEFAULT_PORT, Config, file_name
from ledger.domain.money import Fen
from ledger.errors import ChainError, ConfigError, CreditCodeError, InputError
from ledger.files import exclusive, parse_json
from ledger.keys import create_keystore, keystore_address, load_keystore, read_passphrase

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from eth_account.signers.local import LocalAccount

    from ledger.chain.logs import LogEvent, TopicPattern
    from ledger.chain.record import DeploymentRecord
    from ledger.chain.session import ChainSession
    from ledger.chain.transport import NodeAccess
    from ledger.services.client import LedgerClient, SettlementInput
    from ledger.services.market_state import MarketState
    from ledger.services.sync import LogIndex, RangeCallback
    from ledger.services.verify import Discrepancy, VerificationReport


#: Topic patterns one query of the local log index matches (three SQL parameters for each piece).
PATTERNS_PER_QUERY = 400


class Workspace:
    """One workspace (the module docstring): its name book, keys, deployment record, chain session and
    local event index, each opened when a command first needs it."""

    def __init__(self, config: Config, *, warn: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._warn = warn or (lambda _text: None)  # what a person should know but that stops nothing
        self._session: ChainSession | None = None
        self._client: LedgerClient | None = None
        self._passphrase: str | None = None
        self._names: dict[str, str] | None = None  # the name book as this command last read or wrote it
        self._names_by_address: dict[str, str] | None = None  # the same, turned round
        self._record: DeploymentRecord | None = None

    # --- names ------------------------------------------------------------------------------

    def names(self) -> dict[str, str]:
        """name -> address of every account this workspace knows by name (the file is read once a command)."""
        if self._names is None:
            self._names = self._read_names()
        return self._names

    def _read_names(self) -> dict[str, str]:
        try:
            data = parse_json(self.config.names_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):  # unreadable, not UTF-8, not JSON
            raise ConfigError(f"the name book {self.config.names_path} is unreadable") from None
        if not isinstance(data, dict):
            raise ConfigError(f"the name book {self.config.names_path} is not a JSON object of names")
        from eth_utils.address import to_checksum_address

        from ledger.chain.encoding import is_account

        wrong = [name for name, address in data.items() if not is_account(address)]
        if wrong:
            raise ConfigError(
                f"the name book {self.config.names_path} gives no account address for {', '.join(map(repr, wrong))} "
                "(edited by hand?): correct it, or take the name out"
            )
        # an address edited into lower case is the same account: kept in the checksum form web3 takes
        return {str(name): to_checksum_address(address) for name, address in data.items()}

    def check_name(self, name: str, address: str) -> None:
        """Refuse, writing nothing, a name the book could not take for `address`: one a workspace cannot
        keep, or one that already belongs to another account."""
        file_name(name)
        known = self.names().get(name)
        if known is not None and known != address:
            raise InputError(f"the name {name!r} already belongs to {known}")

    def remember(self, name: str, address: str) -> None:
        """Keep `name` for `address` in the name book (refused if it is another account's)."""
        self.check_name(name, address)  # refused here before it enters the book
        if self.names().get(name) == address:
            return  # known already: most commands only confirm their signer's name
        path = self.config.names_path
        # Two commands at once may both add a name: one at a time reads, adds and replaces the file
        # (atomically, so that a command reading it meanwhile sees the old book or the new, never half).
        with exclusive(path.with_name(path.name + ".lock")):
            names = self._read_names()  # as it is now: another command may have added names
            if name in names and names[name] != address:
                raise InputError(f"the name {name!r} already belongs to {names[name]}")
            names[name] = address
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(names, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            os.replace(partial, path)
            self._names, self._names_by_address = names, None

    def resolve(self, who: str) -> str:
        """An address for a name this workspace knows, an address, or the credit code of an enrolled
        member (how an institution reading the ledger without this workspace's names knows itself)."""
        from eth_utils.address import is_address, to_checksum_address

        from ledger.chain.encoding import fails_checksum
        from ledger.domain.typed import full_width_note
        from ledger.domain.uscc import validate_uscc

        if is_address(who):
            if fails_checksum(who):
                raise InputError(
                    f"{who!r} is not a valid address: its capital letters do not match its checksum (EIP-55), "
                    "so a character is probably mistyped"
                )
            return to_checksum_address(who)
        note = full_width_note(who)
        if note is not None:  # names, addresses and credit codes are all half-width
            raise InputError(f"{who!r} {note}")
        names = self.names()
        if who in names:
            return names[who]
        if who.startswith("0x"):
            raise InputError(f"{who!r} is not a valid address (0x followed by 40 hexadecimal digits)")
        try:
            code = validate_uscc(who)
        except CreditCodeError:
            raise InputError(f"no member or account is known by the name {who!r}") from None
        return self._enrolled_with(code)

    def accounts_enrolled_with(self, code_hash: bytes) -> list[str]:
        """The accounts enrolled with the credit code whose hash is `code_hash` (the chain keeps the hash),
        in enrolment order."""
        from ledger.chain.logs import event_pattern

        enrolled = self.recorded_events(event_pattern("MemberEnrolled"))
        return list(dict.fromkeys(str(e.args["account"]) for e in enrolled if e.args["usccHash"] == code_hash))

    def active_account_with(self, code_hash: bytes, *, besides: str) -> str | None:
        """An active member's account, other than `besides`, enrolled with the credit code whose hash is
        `code_hash`, if there is one. An institution is one member: what is paid once per member (the
        start-up award) would otherwise be paid twice; one that moves to a new account (a lost key) is
        suspended at the old one first."""
        from ledger.domain.types import MemberStatus

        others = [a for a in self.accounts_enrolled_with(code_hash) if a != besides]
        return next((a for a in others if self.client.member(a).status is MemberStatus.ACTIVE), None)

    def _enrolled_with(self, code: str) -> str:
        """The member enrolled with credit code `code`."""
        from ledger.chain.encoding import uscc_hash

        accounts = self.accounts_enrolled_with(uscc_hash(code))
        if not accounts:
            raise InputError(f"no member is enrolled with the credit code {code}")
        if len(accounts) > 1:  # an institution that moved to another account (a lost key) has each
            listed = ", ".join(f"{a} ({self.client.member(a).status.label})" for a in accounts)
            raise InputError(
                f"several accounts are enrolled with the credit code {code}, one after the other: {listed}; "
                "name one by its address"
            )
        return str(accounts[0])

    def name_of(self, address: str) -> str:
        """The name this workspace knows `address` by (the first, if several), else the address itself."""
        if self._names_by_address is None:
            self._names_by_address = {}
            for name, known in self.names().items():
                self._names_by_address.setdefault(known, name)
        return self._names_by_address.get(address, address)

    def label(self, address: str) -> str:
        """How output names an account: "name (address)", or the address alone when it has no name here."""
        from ledger.format import labelled

        return labelled(self.name_of(address), address)

    # --- chain ------------------------------------------------------------------------------

    def rpc_url(self) -> str:
        """The node to talk to: --rpc, else the one the deployment was made through, else the local node."""
        if self.config.rpc:
            return self.config.rpc
        if self.config.deployment_path.exists():
            record = self.record()
            if record.rpc:
                return record.rpc
        from ledger.node import LocalNode

        running = LocalNode(self.config.node_dir, port=DEFAULT_PORT).running_url()
        if running:
            return running
        raise ConfigError("no chain to talk to: start one with `ledger node start`, or pass --rpc URL")

    def node_port(self) -> int:
        """The port of this workspace's node: the loopback port its contracts were deployed through (so
        that a node started again serves the deployment's URL), else the default."""
        return _loopback_port(self._recorded_rpc()) or DEFAULT_PORT

    def _recorded_rpc(self) -> str | None:
        """The URL the deployment record names, if there is a record this can read (the commands that
        need one say what is wrong with it)."""
        try:
            return self.record().rpc if self.config.deployment_path.exists() else None
        except ConfigError:
            return None

    def _stopped_node_hint(self, url: str) -> str:
        """What to do when `url`, unreachable, is where this workspace's own node (now stopped) ran."""
        from ledger.node import LocalNode

        port = _loopback_port(url)
        node = LocalNode(self.config.node_dir, port=DEFAULT_PORT)
        if port is None or not node.state_file.exists() or node.status().running:
            return ""
        recorded = self._recorded_rpc()
        if recorded is not None and recorded.rstrip("/") != url.rstrip("/"):
            return ""  # another node than the one this workspace's contracts are deployed on
        start = "ledger node start" + ("" if port == DEFAULT_PORT else f" --port {port}")
        return f"; this workspace's node is stopped: `{start}`"

    def _is_own_node(self, url: str) -> bool:
        """Whether `url` is this workspace's own local node, running (`ledger node start`)."""
        from ledger.node import LocalNode

        if _loopback_port(url) is None:
            return False
        running = LocalNode(self.config.node_dir, port=self.node_port()).running_url()
        return running is not None and running.rstrip("/") == url.rstrip("/")

    def node_access(self, url: str | None = None) -> NodeAccess:
        """How the node at `url` (default: the workspace's, `rpc_url`) is reached beyond its URL
        (--rpc-ca, or LEDGER_RPC_CA for an https node; --rpc-token-file, or --rpc-user and its password)."""
        from ledger.chain.transport import NodeAccess, is_token
        from ledger.files import read_text_file
        from ledger.keys import RPC_PASSWORD_ENV, read_secret

        url = url or self.rpc_url()
        user = self.config.rpc_user
        if user is None and self.config.rpc_user_env is not None and not self._is_own_node(url):
            user = self.config.rpc_user_env
        token, login = None, None
        if self.config.rpc_token_file is not None and user is not None:
            raise InputError(
                "a node is reached with a token (--rpc-token-file) or with a user and password (--rpc-user), not both"
            )
        if self.config.rpc_token_file is not None:
            path = self.config.rpc_token_file
            token = read_text_file(path, "token").strip()
            if not is_token(token):
                raise InputError(f"the token file {path} does not hold one token (printable, without spaces)")
        if user is not None:
            password = read_secret(
                self.config.rpc_password_file, env=RPC_PASSWORD_ENV, option="--rpc-password-file", what="node password"
            )
            login = (user, password)
        ca = self.config.rpc_ca
        if ca is None and self.config.rpc_ca_env is not None and url.lower().startswith("https://"):
            ca = self.config.rpc_ca_env
        return NodeAccess(tls_ca=None if ca is None else str(ca), token=token, login=login)

    @property
    def session(self) -> ChainSession:
        """The connection to the chain, opened on first use."""
        from ledger.chain.session import ChainSession

        if self._session is None:
            url = self.rpc_url()
            try:
                self._session = ChainSession.connect(url, access=self.node_access(url))
            except ChainError as exc:
                raise ChainError(f"{exc}{self._stopped_node_hint(url)}") from None
            for name, address in self.names().items():
                self._session.remember(address, name)
        return self._session

    @property
    def client(self) -> LedgerClient:
        from ledger.chain.deploy import bind_record
        from ledger.services.client import LedgerClient

        if self._client is None:
            record = self.record()
            self._client = LedgerClient(self.session, bind_record(self.session, record))
            other = record.built_otherwise()
            if other:
                self._warn(
                    f"the deployment's {', '.join(other)} {'was' if len(other) == 1 else 'were'} built from other "
                    "sources than this version of the ledger carries: the chain accepts and refuses as it was "
                    "deployed to (`ledger deploy --force` deploys this version's contracts anew)"
                )
        return self._client

    def record(self) -> DeploymentRecord:
        """The deployment record (the file is read once a command)."""
        from ledger.chain.record import DeploymentRecord

        if self._record is None:
            self._record = DeploymentRecord.load(self.config.deployment_path)
        return self._record

    def deploy(self, *, force: bool) -> DeploymentRecord:
        """Deploy and wire every contract, signed by the regulator's key (made if need be), and write the
        deployment record (refused over an existing one unless `force`)."""
        from ledger.chain.deploy import deploy_all

        if self.config.deployment_path.exists() and not force:
            raise ConfigError(
                f"a deployment record already exists at {self.config.deployment_path}; pass --force to deploy anew"
            )
        regulator = self.signer("regulator", create=True)
        record, _ = deploy_all(self.session, regulator)
        record.save(self.config.deployment_path, overwrite=force)
        self._record, self._client = record, None
        return record

    # --- verification ---------------------------------------------------------------------

    def index(self) -> LogIndex:
        """The local event index of this deployment (a cache of the chain's log)."""
        from ledger.services.sync import LogIndex, default_index_dir

        record = self.record()
        folder = self.config.index_dir or default_index_dir()
        index = LogIndex.for_deployment(folder, chain_id=record.chain_id, anchor=record.addresses["Membership"])
        if index.damaged is not None:
            self._warn(f"the local event index was damaged (kept as {index.damaged}); it is read again from the chain")
        return index

    def recorded_events(self, *patterns: TopicPattern, on_range: RangeCallback | None = None) -> list[LogEvent]:
        """The deployment's events whose topics match one of `patterns` (`event_pattern`), in chain
        order, read through the local index, which this brings up to date once."""
        found: list[LogEvent] = []
        with self.index() as index:
            index.sync(self.session, self.client.addresses, from_block=self.record().block, on_range=on_range)
            for start in range(0, len(patterns), PATTERNS_PER_QUERY):
                chunk = patterns[start : start + PATTERNS_PER_QUERY]
                found += index.events(self.client.names_by_address, patterns=chunk)
        return sorted(found, key=lambda e: (e.block, e.log_index))

    def operators(self, *, on_range: RangeCallback | None = None) -> list[str]:
        """The accounts that hold the operator role now, in the order of their first appointment: those
        the log shows appointed (some may have been removed since), as the chain answers today."""
        from ledger.chain.logs import event_pattern

        appointed = self.recorded_events(event_pattern("OperatorAppointed"), on_range=on_range)
        return self.client.operators_among(list(dict.fromkeys(e.args["account"] for e in appointed)))

    def recorded_settlements(self, refs: set[str]) -> dict[str, SettlementInput]:
        """The settlements recorded under these references (those that are): what a conflicting resend
        is told it differs from."""
        from ledger.chain.encoding import text_id
        from ledger.chain.logs import event_pattern
        from ledger.services.client import SettlementInput

        patterns = [event_pattern("SettlementRecorded", text_id(ref)) for ref in sorted(refs)]
        recorded = (SettlementInput.recorded(e.args) for e in self.recorded_events(*patterns))
        return {s.ref: s for s in recorded}

    def contract_ids(self) -> list[str]:
        """The ids of the registered contracts, in registration order, read through the local index."""
        from ledger.chain.encoding import id_text
        from ledger.chain.logs import event_pattern

        return [id_text(e.args["contractId"]) for e in self.recorded_events(event_pattern("ContractRegistered"))]

    def contract_log(self, contract_id: str, *, on_range: RangeCallback | None = None) -> ContractLog:
        """What only the chain's log keeps of a contract, read in one query of the local index: its
        milestones' titles by index, its royalty periods' reports, and the settlements recorded on it, in
        the order they were recorded (a payment that named no milestone paid the only one: named here)."""
        from dataclasses import replace

        from ledger.chain.encoding import id_text, text_id
        from ledger.chain.logs import event_pattern
        from ledger.services.client import SettlementInput

        key = text_id(contract_id)
        patterns = (
            event_pattern("MilestoneAdded", key),
            event_pattern("RevenueReported", key),
            event_pattern("SettlementRecorded", None, key),
        )
        log = ContractLog()
        for event in self.recorded_events(*patterns, on_range=on_range):
            a = event.args
            if event.name == "MilestoneAdded":
                log.titles[a["index"]] = a["title"]
            elif event.name == "RevenueReported":
                report = RoyaltyReport(id_text(a["period"]), Fen(a["revenue"]), Fen(a["royaltyDue"]), a["reportedAt"])
                log.reports.append(report)
            else:
                s = SettlementInput.recorded(a)
                # the registry refuses a payment without a milestone unless the contract has only one
                log.payments.append(replace(s, milestone=0) if s.milestone is None and s.period is None else s)
        return log

    def market_state(
        self, *, on_range: RangeCallback | None = None, also: Callable[[LogEvent], None] | None = None
    ) -> MarketState:
        """The market as its recorded events leave it (what a bulk import checks its rows against), read
        through the local index, which this brings up to date; `also` is given each event too."""
        from ledger.services.market_state import MarketState

        state = MarketState()
        with self.index() as index:
            for event in index.sync_events(
                self.session,
                self.client.addresses,
                self.client.names_by_address,
                from_block=self.record().block,
                on_range=on_range,
            ):
                state.apply(event)
                if also is not None:
                    also(event)
        return state

    def verify(
        self,
        *,
        fresh: bool = False,
        on_range: RangeCallback | None = None,
        details: bool = True,
        policies: Sequence[Path] = (),
    ) -> VerificationReport:
        """Sync the index with the chain and verify the whole history against the repository's policy files
        and `policies`, published policy files besides them (`details=False`: without the per-issuance
        lists that statements need)."""
        from ledger.domain.policy import load_policy, repository_policies
        from ledger.services.verify import verify_deployment

        documents = repository_policies() + [load_policy(path) for path in policies]  # each file checked first
        with self.index() as index:
            if fresh:
                index.clear()
            report = verify_deployment(
                self.client,
                from_block=self.record().block,
                documents=documents,
                index=index,
                on_range=on_range,
                details=details,
            )
        report.discrepancies[:0] = self._code_discrepancies()
        return report

    def _code_discrepancies(self) -> list[Discrepancy]:
        """A deployment the record says this version built whose code on chain is not what its sources
        compile to (a record edited, or contracts deployed otherwise). One built by another version is
        warned of when the client binds it, and its code is not this version's to check."""
        from ledger.chain.deploy import code_built_otherwise
        from ledger.services.verify import Discrepancy

        record = self.record()
        if record.built_otherwise():
            return []
        return [
            Discrepancy(
                check="contract-code",
                message=f"the code of {name} at {record.addresses[name]} is not what this version's sources compile "
                "to, though the deployment record says this version built it",
            )
            for name in code_built_otherwise(self.session, record.addresses)
        ]

    # --- keys -------------------------------------------------------------------------------

    def passphrase(self, *, confirm: bool = False) -> str:
        if self._passphrase is None:
            self._passphrase = read_passphrase(self.config.passphrase_file, confirm=confirm)
        return self._passphrase

    def new_key(self, name: str) -> str:
        """Create an encrypted keystore for `name` in the workspace and remember its address."""
        path = self.config.key_path(name)
        account = create_keystore(path, self.passphrase(confirm=True))
        self.remember(name, account.address)
        return str(account.address)

    def key(self, name: str, *, create: bool = False, own: bool = False) -> LocalAccount:
        """The key of `name`: --keystore if given (unless `own`: the workspace's key of `name` even so),
        else the workspace's keystore for `name` (opened without any chain: a member signs its enrolment
        proof on a machine that has none)."""
        path = self.config.key_path(name) if own else (self.config.keystore or self.config.key_path(name))
        if not path.exists() and create and self.config.keystore is None:
            self.new_key(name)
        account = load_keystore(path, self.passphrase())
        if own or self.config.keystore is None:
            self.remember(name, account.address)
        return account

    def signer(self, name: str, *, create: bool = False) -> LocalAccount:
        """The key that signs transactions (`key`), its account funded on a chain that needs it."""
        account = self.key(name, create=create)
        session = self.session
        session.remember(account.address, self.name_of(account.address))
        if session.balance_of(account.address) == 0:
            session.fund(account.address)
        return account

    def keystore_address(self, name: str) -> str | None:
        path = self.config.key_path(name)
        return keystore_address(path) if path.exists() else None


def _loopback_port(url: str | None) -> int | None:
    """The port of a node's URL on this machine's loopback, as `ledger node` serves it (else None)."""
    port = (url or "").removeprefix("http://127.0.0.1:").rstrip("/")
    return int(port) if re.fullmatch(r"[0-9]{1,5}", port) and 0 < int(port) < 65_536 else None


@dataclass(frozen=True)
class RoyaltyReport:
    """A royalty period's revenue as reported, and the royalty it makes due (fen; a unix time)."""

    period: str
    revenue: Fen
    due: Fen
    reported_at: int


@dataclass
class ContractLog:
    """What the chain's log alone keeps of one contract (`Workspace.contract_log`)."""

    titles: dict[int, str] = field(default_factory=dict)
    reports: list[RoyaltyReport] = field(default_factory=list)
    payments: list[SettlementInput] = field(default_factory=list)

    def royalty_paid(self) -> dict[str, Fen]:
        """What the recorded payments paid for each royalty period."""
        paid: dict[str, Fen] = {}
        for s in self.payments:
            if s.period is not None:
                paid[s.period] = Fen(paid.get(s.period, 0) + s.amount)
        return paid

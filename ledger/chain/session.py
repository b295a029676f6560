"""One connection to a chain: the embedded eth-tester chain or a JSON-RPC node.

Every transaction is signed locally (never by a node's unlocked account), its gas estimated
first so that a refusal is decoded before anything is sent, its nonce managed here, its receipt
awaited and its status checked. A lost reply is retried with the same signed bytes, so a
transaction is never sent twice.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import requests
from eth_abi.exceptions import DecodingError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    BadFunctionCallOutput,
    BlockNotFound,
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
    Web3ValidationError,
)
from web3.types import TxParams, TxReceipt, Wei

from ledger.chain.arguments import CheckedFunctions, first_line
from ledger.chain.artifacts import Artifact
from ledger.chain.errors import decode_revert, revert_data_of
from ledger.chain.transport import (
    NETWORK_ERRORS,
    FinalHttpAnswer,
    NodeAccess,
    NodeProvider,
    UnreadableReply,
    error_text,
    network_failure,
    node_session,
)
from ledger.config import TX_GAS_CAP
from ledger.errors import ChainError, ContractError, InputError, LedgerError, TransactionFailed

#: Added to every gas estimate (the estimate is exact for the state it ran on).
GAS_MARGIN_PERCENT = 20
SEND_ATTEMPTS = 5
#: First pause before repeating a request whose reply was lost (doubling each time: 0.05 s ... 0.8 s).
RETRY_BACKOFF_S = 0.05
#: Gas limit for transactions on the embedded chain: EIP-7825's per-transaction cap.
EMBEDDED_GAS_LIMIT = TX_GAS_CAP
#: How nodes answer the send of a transaction they already hold (geth and anvil "already known", Besu
#: "Known transaction", OpenEthereum "... already imported"): an earlier attempt reached the node.
ALREADY_KNOWN = ("already known", "known transaction", "already imported")
#: How nodes refuse a transaction their pool has no room for yet: Besu's sequenced pool takes a sender's
#: transactions only while their nonce is a few ahead of its account's (5 by default), geth's pool may be
#: full. The same signed bytes are taken once blocks have made room (`PoolFull`).
POOL_FULL = ("nonce is too distant from current sender nonce", "txpool is full", "transaction pool is full")
RECEIPT_TIMEOUT_S = 120.0
#: Transactions of one account awaited at once (an unbounded pipeline stalls anvil).
IN_FLIGHT = 64
#: How often a transaction awaited is checked for a nonce taken by another of its account's transactions.
SUPERSEDED_CHECK_S = 1.0
#: How many times a transaction is prepared again after another took its nonce.
NONCE_ATTEMPTS = 5
#: Block headers asked for in one batch request (about 1 KB of reply each; Besu answers batches of
#: up to 1,024 requests by default, `--rpc-http-max-batch-size`).
BLOCKS_PER_BATCH = 1_000
#: Read-only contract calls one batch request carries (Besu takes 1,024 requests per batch by default).
CALLS_PER_BATCH = 500

#: What web3 raises for a reverted call (eth-tester's own error is added once it is loaded: see `_reverts`).
_REVERT_ERRORS: tuple[type[BaseException], ...] = (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
)


def _reverts() -> tuple[type[BaseException], ...]:
    """The revert errors, with eth-tester's when the embedded chain has loaded it (importing eth-tester
    costs a node-only command a fifth of a second)."""
    tester = sys.modules.get("eth_tester.exceptions")
    return _REVERT_ERRORS if tester is None else (*_REVERT_ERRORS, tester.TransactionFailed)


_Item = TypeVar("_Item")


def _in_halves(items: list[_Item], send: Callable[[list[_Item]], list[Any]]) -> list[Any]:
    """`send(items)`, one batch request; a batch the node refuses whole (`RequestRefused`: more requests
    than it takes at once, Besu's `--rpc-http-max-batch-size`) is sent again in halves."""
    if not items:
        return []
    try:
        return send(items)
    except RequestRefused:
        if len(items) == 1:
            raise
    half = len(items) // 2
    return _in_halves(items[:half], send) + _in_halves(items[half:], send)


def _connection_lost(exc: BaseException) -> ChainError:
    return ChainError(f"lost the connection to the chain: {network_failure(exc)}")


@contextmanager
def _reaching() -> Iterator[None]:
    """A request to the node whose network failure becomes a `ChainError` (the command then says so
    in a sentence; running it again resumes)."""
    try:
        yield
    except NETWORK_ERRORS as exc:
        raise _connection_lost(exc) from None


#: What reading an answer of the wrong shape raises: a field missing, a value of another type, text that
#: is no hex number, data shorter than its event declares (web3's own formatters raise these too).
_SHAPE_ERRORS: tuple[type[BaseException], ...] = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    DecodingError,
    BadFunctionCallOutput,  # a call's answer that is no encoding of what the function returns
)


@contextmanager
def from_node(what: str) -> Iterator[None]:
    """Reading `what` from the node's answer (a block, receipts, logs): a network failure as in
    `_reaching`; an answer not of the shape JSON-RPC gives it (what a broken or foreign node may send
    after a good first contact) becomes a `ChainError` that names it, not a crash. Only the reading
    and parsing of the answer belong inside."""
    try:
        with _reaching():
            yield
    except BlockNotFound:
        raise _nothing_for(what) from None
    except _SHAPE_ERRORS as exc:
        raise _unreadable(what, exc) from None


def _nothing_for(what: str) -> ChainError:
    return ChainError(f"the node gave nothing for {what}")


def _unreadable(what: str, exc: BaseException) -> ChainError:
    if isinstance(exc, KeyError):
        return unreadable_answer(what, f"it has no field {exc.args[0]!r}" if exc.args else "a field is missing")
    return unreadable_answer(what, first_line(exc))


def unreadable_answer(what: str, problem: str) -> ChainError:
    """The error for an answer about `what` that the ledger cannot read, and why."""
    return ChainError(f"the node's answer for {what} cannot be read: {problem}")


def _rpc_error_text(exc: Exception) -> str:
    """The node's message in web3's error for it (whose text is the error member's Python repr), or
    the text of any other error."""
    response = getattr(exc, "rpc_response", None) if isinstance(exc, Web3RPCError) else None
    return error_text(response["error"]) if isinstance(response, dict) and "error" in response else str(exc)


@dataclass
class Sent:
    """A mined, successful transaction."""

    tx_hash: str
    receipt: TxReceipt

    @property
    def gas_used(self) -> int:
        return int(self.receipt["gasUsed"])


@dataclass(frozen=True)
class Prepared:
    """A signed transaction, not yet sent: its hash is known before the node sees it."""

    sender: str
    tx: dict[str, Any]
    raw: bytes
    tx_hash: bytes


@dataclass
class ChainSession:
    """A chain and the local keys that sign for it."""

    w3: Web3
    kind: str  # "embedded" or "rpc"
    url: str | None = None
    tester: Any = None
    names: dict[str, str] = field(default_factory=dict)
    _nonces: dict[str, int] = field(default_factory=dict)
    _gas_price: int | None = None
    access: NodeAccess = field(default_factory=NodeAccess)
    _chain_id: int | None = None
    _block_gas_limit: int | None = None
    _block_times: dict[int, int] = field(default_factory=dict)
    _code: dict[str, bytes] = field(default_factory=dict)

    # --- connecting -------------------------------------------------------------------------

    @classmethod
    def embedded(cls) -> ChainSession:
        """A fresh in-process eth-tester chain (py-evm backend)."""
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider

        tester = EthereumTester(PyEVMBackend())
        return cls(w3=Web3(EthereumTesterProvider(tester)), kind="embedded", tester=tester)

    @classmethod
    def connect(cls, url: str, *, timeout_s: float = 30.0, access: NodeAccess | None = None) -> ChainSession:
        """A JSON-RPC node (anvil, Besu, ...), reached as `access` says (the authority of its TLS
        certificate, the token its JSON-RPC requires) beyond its URL."""
        access = access or NodeAccess()
        http = node_session(url, access, timeout_s=timeout_s)
        w3 = Web3(NodeProvider(url, request_kwargs={"timeout": timeout_s}, session=http))
        session = cls(w3=w3, kind="rpc", url=url, access=access)
        try:
            session._chain_id = int(w3.eth.chain_id)  # first contact
        except NETWORK_ERRORS as exc:
            reached = isinstance(exc, (requests.HTTPError, FinalHttpAnswer, UnreadableReply))
            raise ChainError(
                f"{'no JSON-RPC chain' if reached else 'cannot reach a chain'} at {url}: {network_failure(exc)}"
            ) from exc
        except (Web3Exception, ValueError, TypeError) as exc:  # an error reply, or a chain id that is no number
            raise ChainError(f"the node at {url} did not answer as a JSON-RPC chain: {_rpc_error_text(exc)}") from exc
        return session

    def connect_again(self) -> ChainSession:
        """Another connection to the same node, verified the same way (for requests made alongside)."""
        assert self.url is not None, "the embedded chain has no second connection"
        return ChainSession.connect(self.url, access=self.access)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with from_node("the chain id"):
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def gas_ceiling(self) -> int:
        """The most gas one transaction may be given here: EIP-7825's cap, or the block gas limit when the
        chain's blocks are smaller (a private network's genesis may set a few million), since a node
        refuses a transaction that could not fit a block. Read once per session."""
        if self._block_gas_limit is None:
            with from_node("the latest block"):
                self._block_gas_limit = int(self.w3.eth.get_block("latest")["gasLimit"])
        return min(TX_GAS_CAP, self._block_gas_limit)

    def name_of(self, address: str) -> str:
        return self.names.get(address, address)

    def remember(self, address: str, name: str) -> None:
        self.names[to_checksum_address(address)] = name

    # --- time -------------------------------------------------------------------------------

    def now(self) -> int:
        """The timestamp of the latest block."""
        with from_node("the latest block"):
            return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_time(self, number: int) -> int:
        """The timestamp of block `number` (asked of the node once per session)."""
        if number not in self._block_times:
            with from_node(f"block {number}"):
                self._block_times[number] = int(self.w3.eth.get_block(number)["timestamp"])
        return self._block_times[number]

    def block_times(self, numbers: Iterable[int]) -> dict[int, int]:
        """The timestamps of these blocks; a node is asked for those not yet known in batch requests,
        not one request each."""
        wanted = set(numbers)
        missing = sorted(wanted - self._block_times.keys())
        if self.kind == "embedded":
            for number in missing:
                self.block_time(number)
        else:
            for start in range(0, len(missing), BLOCKS_PER_BATCH):
                chunk = missing[start : start + BLOCKS_PER_BATCH]
                blocks = self.rpc_batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
                if len(blocks) != len(chunk):
                    raise ChainError(f"the node answered {len(blocks)} of {len(chunk)} requests for blocks")
                for number, block in zip(chunk, blocks, strict=True):
                    if block is None:
                        raise _nothing_for(f"block {number}")
                    with from_node(f"block {number}"):
                        self._block_times[number] = int(block["timestamp"], 16)
        return {number: self._block_times[number] for number in wanted}

    def block_hash(self, number: int) -> str:
        """The hash of block `number` (0x-prefixed hex)."""
        with from_node(f"block {number}"):
            return "0x" + bytes(self.w3.eth.get_block(number)["hash"]).hex()

    def code_at(self, address: str) -> bytes:
        """The code deployed at `address` (empty where there is none). Code once there stays (a contract
        that destroys itself since Cancun loses only its balance), so it is read once a session."""
        if address not in self._code:
            with from_node(f"the code at {address}"):
                code = bytes(self.w3.eth.get_code(address))  # type: ignore[arg-type]
            if not code:
                return code  # (one may be deployed there later)
            self._code[address] = code
        return self._code[address]

    def balance_of(self, address: str) -> int:
        """The account's balance in wei."""
        with from_node(f"the balance of {address}"):
            return int(self.w3.eth.get_balance(to_checksum_address(address)))

    def advance_to(self, timestamp: int) -> None:
        """Move the chain's clock forward to at least `timestamp` (test chains only)."""
        if self.now() >= timestamp:
            return
        if self.kind == "embedded":
            # time_travel sets the next block's time; mine it so that calls on "latest" see it.
            self.tester.time_travel(timestamp)
            self.tester.mine_blocks(1)
            return
        try:
            with _reaching():
                self.w3.provider.make_request("evm_mine", [timestamp])  # type: ignore[arg-type]
        except Web3Exception as exc:
            raise ChainError(
                f"the chain's clock is behind {timestamp} and this node cannot move it forward ({_rpc_error_text(exc)})"
            ) from exc
        if self.now() < timestamp:
            raise ChainError("the node did not move its clock forward; it is not a test node")

    # --- snapshots (test chains) --------------------------------------------------------------

    def snapshot(self) -> Any:
        if self.kind == "embedded":
            return self.tester.take_snapshot()
        with from_node("a snapshot"):
            return self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]

    def revert(self, snapshot_id: Any) -> None:
        if self.kind == "embedded":
            self.tester.revert_to_snapshot(snapshot_id)
        else:
            with _reaching():
                self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
        self._nonces.clear()
        self._block_times.clear()  # the blocks after the snapshot are gone
        self._code.clear()  # and the contracts they deployed

    # --- accounts ---------------------------------------------------------------------------

    def new_account(self, name: str, *, fund: bool = True) -> LocalAccount:
        account: LocalAccount = Account.create()
        self.remember(account.address, name)
        if fund:
            self.fund(account.address)
        return account

    def fund(self, address: str, wei: int = 10**21) -> None:
        """Give a test account gas money (embedded chain or a node with anvil's RPCs)."""
        if self.kind == "embedded":
            funder = self.w3.eth.accounts[0]
            tx_hash = self.w3.eth.send_transaction(
                {"from": funder, "to": to_checksum_address(address), "value": Wei(wei)}
            )
            self.w3.eth.wait_for_transaction_receipt(tx_hash)
            return
        try:
            with _reaching():
                response = self.w3.provider.make_request("anvil_setBalance", [address, hex(wei)])  # type: ignore[arg-type]
            if "error" not in response:
                return
        except Web3Exception:
            pass  # not a node that funds accounts on request: enough if gas is free or the account has funds
        if self.gas_price() > 0 and self.balance_of(address) == 0:
            raise ChainError(f"account {address} has no funds for gas and this node cannot fund it")

    def gas_price(self) -> int:
        """What this session offers per gas: the node's suggestion, or twice the latest base fee when
        that is more (a few blocks of rising fees then strand nothing). Never a multiple of the
        suggestion: what a price exceeds the base fee by is a tip, and the tips paid raise the node's
        next suggestion, so each command would offer more than the one before it."""
        if self._gas_price is None:
            with from_node("the gas price"):
                suggested = int(self.w3.eth.gas_price)
                base = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
            self._gas_price = max(suggested, 2 * base)
        return self._gas_price

    # --- calls and transactions -------------------------------------------------------------

    @contextmanager
    def _decoded(self) -> Iterator[None]:
        """Turn reverts and web3 input errors into `LedgerError`s."""
        try:
            yield
        except _reverts() as exc:
            data = revert_data_of(exc)
            if data is None:
                raise TransactionFailed(f"the contract refused: {exc}") from None
            raise decode_revert(data, namer=self.name_of) from None
        except Web3RPCError as exc:
            data = revert_data_of(exc)
            if data is not None:
                raise decode_revert(data, namer=self.name_of) from None
            raise ChainError(f"the node refused the request: {_rpc_error_text(exc)}") from None
        except Web3ValidationError as exc:
            raise InputError(f"invalid argument for the contract call: {first_line(exc)}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ContractError):
                raise
            raise InputError(f"invalid argument for the contract call: {first_line(exc)}") from None
        except NETWORK_ERRORS as exc:
            raise _connection_lost(exc) from None

    def call(self, fn: ContractFunction, *, sender: str | None = None, block: int | None = None) -> Any:
        """A read-only call, on the latest state or on the state as of `block`."""
        with self._decoded(), from_node(f"a call of {fn.fn_name}"):
            return fn.call({"from": sender} if sender else {}, block_identifier=block)

    def call_all(self, fns: list[ContractFunction], *, block: int | None = None) -> list[Any]:
        """Read-only calls on the latest state, or on the state as of `block`, their answers in order: a
        node is asked in batch requests, not one request each (the embedded chain, in process, one by one)."""
        if self.kind == "embedded":
            return [self.call(fn, block=block) for fn in fns]
        answers: list[Any] = []
        for start in range(0, len(fns), CALLS_PER_BATCH):
            answers += _in_halves(fns[start : start + CALLS_PER_BATCH], lambda part: self._call_batch(part, block))
        return answers

    def _call_batch(self, fns: list[ContractFunction], block: int | None) -> list[Any]:
        """One batch request of calls; `RequestRefused` when the node refuses the batch whole."""
        with self._decoded(), from_node(f"a batch of {len(fns)} calls"):
            try:
                with self.w3.batch_requests() as batch:
                    for fn in fns:
                        batch.add(fn.call(block_identifier=block))
                    return list(batch.execute())
            except Web3RPCError as exc:
                if revert_data_of(exc) is not None:
                    raise  # a call of the batch reverted: decoded as any call's revert
                raise RequestRefused(f"the node refused a batch of calls: {_rpc_error_text(exc)}") from None

    def head(self) -> int:
        """The number of the latest block."""
        with from_node("the latest block number"):
            return int(self.w3.eth.block_number)

    def transact(self, signer: LocalAccount, fn: ContractFunction, *, gas: int | None = None) -> Sent:
        """Estimate, sign, send and await one contract call; refusals raise decoded errors."""
        to, data = self.encoded(signer.address, fn)
        return self.send(signer, to=to, data=data, gas=gas)

    def transact_all(self, signer: LocalAccount, fns: Sequence[ContractFunction]) -> list[Sent]:
        """`transact` for calls that do not depend on one another. On a node all are estimated and
        signed first, so that one the chain would refuse raises its error before any is sent; then they
        are sent together, at most `IN_FLIGHT` awaited at once, so that on a chain mining a block every
        few seconds they share blocks rather than each waiting for one of its own; a pool that holds
        fewer of the account's transactions (`PoolFull`) is offered each again once the oldest awaited
        is mined. The embedded chain mines each as it arrives: there they go one by one, and a refusal
        returns the chain to where it was before the first."""
        calls = [self.encoded(signer.address, fn) for fn in fns]
        if self.kind == "embedded":
            before = self.snapshot()
            try:
                return [self.send(signer, to=to, data=data) for to, data in calls]
            except LedgerError:
                self.revert(before)
                raise
        try:
            return self._send_together([self.prepare(signer, to=to, data=data) for to, data in calls])
        except LedgerError:
            self.forget_nonce(signer.address)  # a nonce given to one prepared and not sent is not used
            raise

    def _send_together(self, prepared: list[Prepared]) -> list[Sent]:
        """Send signed transactions of one account in nonce order and await them (`transact_all`)."""
        mined: list[Sent] = []
        waiting: deque[Prepared] = deque()
        for tx in prepared:
            while True:
                try:
                    self.submit(tx)
                    break
                except PoolFull:
                    if not waiting:
                        raise
                    mined.append(self.await_mined(waiting.popleft()))
            waiting.append(tx)
            if len(waiting) >= IN_FLIGHT:
                mined.append(self.await_mined(waiting.popleft()))
        mined += (self.await_mined(tx) for tx in waiting)
        return mined

    def encoded(self, sender: str, fn: ContractFunction) -> tuple[str, bytes]:
        """The address a contract call goes to and its calldata (wrong arguments raise `InputError`)."""
        with self._decoded():
            params = cast(TxParams, {"from": sender, "gas": 1, "gasPrice": 0, "nonce": 0})
            tx = fn.build_transaction(params)
        return str(tx["to"]), bytes(HexBytes(tx["data"]))

    def deploy(self, signer: LocalAccount, artifact: Artifact, *args: Any) -> tuple[str, Sent]:
        """Deploy `artifact` with constructor `args`, signed by `signer`: its address and the transaction."""
        contract = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        with self._decoded():
            data = contract.constructor(*args).data_in_transaction
        sent = self.send(signer, to=None, data=HexBytes(data))
        address = sent.receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploying {artifact.name} created no contract")
        return to_checksum_address(address), sent

    def send(self, signer: LocalAccount, *, to: str | None, data: bytes, gas: int | None = None) -> Sent:
        """Sign, send and await one transaction; a refusal raises its decoded error and changes nothing.

        On a node the call is estimated first, so a refusal raises before anything is sent. The
        embedded chain mines a transaction as it receives it: it is not dry-run (the EVM would run
        twice); a refused one is explained, then undone by returning to a snapshot taken before it.

        Another process signing with the same key (two commands at once) may take the nonce first:
        this transaction can then never be mined, so it is prepared again, estimate included, with the
        next free nonce. It is not sent twice: the first can no longer be mined."""
        for _ in range(NONCE_ATTEMPTS):
            undo = self.snapshot() if self.kind == "embedded" else None
            prepared = self.prepare(signer, to=to, data=data, gas=gas)
            try:
                self._submit(prepared, superseded_raises=True)
                return self.await_mined(prepared)
            except Superseded:
                self.forget_nonce(signer.address)
            except LedgerError:
                if undo is not None:
                    self.revert(undo)
                raise
        raise ChainError("other transactions of the same account kept taking this one's nonce; run it again")

    def prepare(self, signer: LocalAccount, *, to: str | None, data: bytes, gas: int | None = None) -> Prepared:
        """Sign a transaction. Without `gas`, the call is first estimated, so that a refusal raises here;
        on the embedded chain it gets a generous limit instead (`send` undoes a refused transaction)."""
        tx: dict[str, Any] = {"from": signer.address, "data": data, "value": 0, "chainId": self.chain_id}
        if to is not None:
            tx["to"] = to
        if gas is None and self.kind == "embedded":
            gas = EMBEDDED_GAS_LIMIT  # py-evm estimates by a binary search of ~10 executions
        elif gas is None:
            with self._decoded(), from_node("a gas estimate"):
                estimate = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
            # the node estimates within a block's gas: the margin must not take the limit past it
            gas = min(estimate + estimate * GAS_MARGIN_PERCENT // 100, self.gas_ceiling())
        tx.pop("from")
        tx.update(gas=gas, gasPrice=self.gas_price(), nonce=self._next_nonce(signer.address))
        signed = signer.sign_transaction(tx)
        return Prepared(sender=signer.address, tx=tx, raw=bytes(signed.raw_transaction), tx_hash=bytes(signed.hash))

    def submit(self, prepared: Prepared) -> None:
        """Hand signed bytes to the node; a lost reply is retried with the same bytes (same hash, never twice)."""
        self._submit(prepared, superseded_raises=False)

    def _submit(self, prepared: Prepared, *, superseded_raises: bool) -> None:
        """`submit`; with `superseded_raises`, a nonce that another transaction of the account holds
        (waiting in the pool, or mined before any attempt of this one can have reached the node) raises
        `Superseded`."""
        reached = False  # whether an attempt whose reply was lost may have reached the node
        for attempt in range(SEND_ATTEMPTS):
            try:
                refusal = self._post_raw(prepared.raw)
            except NETWORK_ERRORS:
                reached = True
                time.sleep(RETRY_BACKOFF_S * 2**attempt)
                continue
            if refusal is None:
                return
            text = refusal.lower().replace("_", " ")
            if any(known in text for known in ALREADY_KNOWN):
                return  # an earlier attempt reached the node
            if "replacement transaction underpriced" in text and superseded_raises:
                raise Superseded(prepared)  # another transaction of the account waits in the pool with this nonce
            if any(full in text for full in POOL_FULL):
                raise PoolFull(f"the node's transaction pool has no room for it yet ({refusal})")
            if "nonce too low" in text:
                if superseded_raises and not reached:
                    raise Superseded(prepared)  # no attempt of this one reached the node: another was mined with it
                return  # an earlier attempt reached the node, or another took the nonce: the wait tells
            raise NodeRefused(f"the node refused the transaction: {refusal}")
        raise ChainError("lost the connection to the chain while sending; run the same command again to resume")

    def await_mined(self, prepared: Prepared) -> Sent:
        """Wait for the receipt; a reverted transaction raises its decoded error, one whose nonce another
        transaction of its account took raises `Superseded`."""
        with from_node(f"the receipt of transaction 0x{prepared.tx_hash.hex()}"):
            receipt = self._await_receipt(prepared)
            # gasUsed is read here too (`Sent.gas_used` reads it later), so that a garbled one is named now
            status, block, _gas = int(receipt["status"]), int(receipt["blockNumber"]), int(receipt["gasUsed"])
        if status != 1:
            raise self.explain_failure(prepared, block)
        return Sent(tx_hash="0x" + prepared.tx_hash.hex(), receipt=receipt)

    # --- the fast lane (JSON-RPC without web3's per-field formatting) ------------------------

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One raw JSON-RPC call; the node's error becomes a `RequestRefused` (a lost connection, a
        `ChainError` as for every request)."""
        with _reaching():
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise RequestRefused(f"the node refused {method}: {error_text(response['error'])}")
        return response["result"]

    def rpc_batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several raw JSON-RPC calls in one request (results in order; None where the node erred). A
        batch the node refuses whole (more requests than it takes at once: Besu's
        `--rpc-http-max-batch-size`) is sent again in halves."""
        return _in_halves(calls, self._one_batch)

    def _one_batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        for attempt in range(SEND_ATTEMPTS):
            try:
                responses = self.w3.provider.make_batch_request(calls)  # type: ignore[attr-defined]
                break
            except NETWORK_ERRORS as exc:
                # reads are safe to repeat
                if attempt == SEND_ATTEMPTS - 1:
                    raise _connection_lost(exc) from None
                time.sleep(RETRY_BACKOFF_S * 2**attempt)
        if isinstance(responses, dict):
            raise RequestRefused(f"the node refused a batch of requests: {error_text(responses.get('error'))}")
        with from_node("a batch of requests"):
            ordered = sorted(responses, key=lambda r: int(r.get("id") or 0))
        return [r.get("result") for r in ordered]

    def embedded_logs(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """`eth_getLogs` on the embedded chain (`embedded.logs`)."""
        from ledger.chain import embedded

        return embedded.logs(self.tester.backend.chain, params)

    def receipts_fast(self, hashes: list[bytes]) -> list[dict[str, Any] | None]:
        """Raw receipts (None while not mined): status, blockNumber, gasUsed as ints; logs as bytes."""
        if self.kind == "embedded":
            from ledger.chain import embedded

            return embedded.receipts(self.tester.backend.chain, hashes)
        results = self.rpc_batch([("eth_getTransactionReceipt", ["0x" + h.hex()]) for h in hashes])
        with from_node("transaction receipts"):
            return [None if r is None else _raw_receipt(r) for r in results]

    def explain_failure(self, prepared: Prepared, block: int) -> LedgerError:
        """Why a transaction mined in `block` reverted: its decoded error if replaying the call gives one."""
        tx = prepared.tx
        call = {"from": prepared.sender, "to": tx.get("to"), "data": tx["data"], "gas": tx["gas"]}
        try:
            with self._decoded():
                self.w3.eth.call(call, block - 1)  # type: ignore[arg-type]
        except ContractError as exc:
            return exc
        except ChainError:
            pass
        return TransactionFailed(f"the transaction ran out of gas or reverted without a reason (gas limit {tx['gas']})")

    def estimate(self, sender: str, *, to: str, data: bytes) -> int:
        """Gas a call would use now (refusals raise decoded errors)."""
        with self._decoded(), from_node("a gas estimate"):
            return int(self.w3.eth.estimate_gas({"from": sender, "to": to, "data": data}))

    def forget_nonce(self, address: str) -> None:
        """Read the account's nonce from the node again (after dropped or failed transactions)."""
        self._nonces.pop(address, None)

    def contract(self, address: str, artifact: Artifact) -> Contract:
        contract = self.w3.eth.contract(address=to_checksum_address(address), abi=artifact.abi)
        # Same interface, checked arguments: see CheckedFunctions.
        contract.functions = CheckedFunctions(contract.functions)  # type: ignore[assignment]
        return contract

    # --- internals --------------------------------------------------------------------------

    def _next_nonce(self, address: str) -> int:
        if address not in self._nonces:
            with from_node(f"the nonce of {address}"):
                self._nonces[address] = int(self.w3.eth.get_transaction_count(address, "pending"))  # type: ignore[arg-type]
        nonce = self._nonces[address]
        self._nonces[address] = nonce + 1
        return nonce

    def _post_raw(self, raw: bytes) -> str | None:
        """Send signed bytes once: None when accepted, else the node's refusal (network errors raise)."""
        if self.kind == "embedded":
            try:
                self.w3.eth.send_raw_transaction(raw)
            except Web3RPCError as exc:
                return _rpc_error_text(exc)
            return None
        response = self.w3.provider.make_request("eth_sendRawTransaction", ["0x" + raw.hex()])  # type: ignore[arg-type]
        if "error" in response:
            return error_text(response["error"])
        return None

    def _await_receipt(self, prepared: Prepared) -> TxReceipt:
        """The receipt, polled; every second the node is also asked whether another transaction has
        taken this one's nonce (`Superseded`: this one can then never be mined). A reply that cannot be
        read raises as it is (`await_mined` says so: waiting longer would not mend it)."""
        tx_hash = HexBytes(prepared.tx_hash)
        deadline = time.monotonic() + RECEIPT_TIMEOUT_S
        next_check = time.monotonic() + SUPERSEDED_CHECK_S
        while time.monotonic() < deadline:
            try:
                try:
                    return self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    pass
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + SUPERSEDED_CHECK_S
                    if self._superseded(prepared):
                        raise Superseded(prepared)
            except NETWORK_ERRORS:
                time.sleep(0.2)
                continue
            time.sleep(0.02)
        raise ChainError(f"transaction 0x{bytes(tx_hash).hex()} was not mined in {RECEIPT_TIMEOUT_S:.0f} s")

    def _superseded(self, prepared: Prepared) -> bool:
        """Whether a transaction of the sender mined with this one's nonce is not this one."""
        sender = cast(Any, prepared.sender)
        if int(self.w3.eth.get_transaction_count(sender, "latest")) <= int(prepared.tx["nonce"]):
            return False  # the nonce is still free: this transaction may yet be mined
        try:
            self.w3.eth.get_transaction(HexBytes(prepared.tx_hash))
        except TransactionNotFound:
            try:  # mined in the meantime after all?
                self.w3.eth.get_transaction_receipt(HexBytes(prepared.tx_hash))
            except TransactionNotFound:
                return True
        return False


class RequestRefused(ChainError):
    """The node answered a raw JSON-RPC request with an error (it was reached, and said no)."""


class NodeRefused(ChainError):
    """The node refused a signed transaction outright (its pool will not take it): it was not sent."""


class PoolFull(NodeRefused):
    """The node's pool has no room for the transaction yet (it holds as many of the account's as it
    takes): it was not taken, and the same bytes sent again once blocks have made room will be."""


class Superseded(ChainError):
    """Another transaction of the same account took this one's nonce: this one can never be mined."""

    def __init__(self, prepared: Prepared) -> None:
        super().__init__(
            f"another transaction of {prepared.sender} took nonce {prepared.tx['nonce']}, "
            f"so transaction 0x{prepared.tx_hash.hex()} can never be mined"
        )


def _raw_receipt(r: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC receipt as `receipts_fast` gives it."""
    return {
        "status": int(r["status"], 16),
        "blockNumber": int(r["blockNumber"], 16),
        "gasUsed": int(r["gasUsed"], 16),
        "logs": [
            {"topics": [bytes.fromhex(t[2:]) for t in lg["topics"]], "data": bytes.fromhex(lg["data"][2:])}
            for lg in r["logs"]
        ],
    }

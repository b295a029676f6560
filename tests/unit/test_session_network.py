"""A node that stops answering, answers what no JSON-RPC node would, or answers as a node that cannot
fund accounts: every request the session makes says so in a `ChainError`, never a network exception
(which the CLI would print as a traceback) and never a crash."""

from __future__ import annotations

import json
import re
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from web3 import Web3

from ledger.chain.artifacts import artifact
from ledger.chain.logs import event_specs, iter_logs
from ledger.chain.session import ChainSession, NodeRefused, PoolFull, Prepared
from ledger.chain.transport import NodeProvider, network_failure
from ledger.errors import ChainError, InputError
from ledger.services.sync import LogIndex
from tests.nodes import free_port


def _session(url: str) -> ChainSession:
    return ChainSession(w3=Web3(NodeProvider(url, request_kwargs={"timeout": 5})), kind="rpc", url=url)


ACCOUNT = "0x" + "22" * 20
REQUESTS: list[tuple[str, Callable[[ChainSession], Any]]] = [
    ("chain id", lambda s: s.chain_id),
    ("clock", lambda s: s.now()),
    ("gas price", lambda s: s.gas_price()),
    ("head", lambda s: s.head()),
    ("block time", lambda s: s.block_time(1)),
    ("block hash", lambda s: s.block_hash(1)),
    ("code", lambda s: s.code_at(Account.create().address)),
    ("balance", lambda s: s.balance_of(Account.create().address)),
    ("raw call", lambda s: s.rpc("eth_blockNumber", [])),
    ("receipts", lambda s: s.receipts_fast([b"\1" * 32])),
    ("funding", lambda s: s.fund(Account.create().address)),
    ("snapshot", lambda s: s.snapshot()),
    ("signing", lambda s: s.prepare(Account.create(), to=None, data=b"", gas=21_000)),
    ("nonce", lambda s: s._next_nonce(Account.create().address)),
    ("block gas limit", lambda s: s.gas_ceiling()),
    ("calls", lambda s: s.call_all([s.contract(ACCOUNT, artifact("Membership")).functions.isActive(ACCOUNT)] * 3)),
]


@pytest.mark.parametrize("request_", [r for _, r in REQUESTS], ids=[name for name, _ in REQUESTS])
def test_a_node_that_is_gone_is_a_chain_error(request_: Callable[[ChainSession], Any]) -> None:
    session = _session(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChainError, match="lost the connection to the chain"):
        request_(session)


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """The URL of a loopback HTTP server answering with `handler`, for as long as the caller holds it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _answering(reply: Callable[[bytes], bytes]) -> Iterator[str]:
    """`_serve` with a server that answers every POST 200 with `reply(request body)`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = reply(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    yield from _serve(Handler)


@pytest.fixture
def priced_node() -> Iterator[str]:
    """A JSON-RPC node that charges for gas, cannot fund accounts, and holds no funds for anyone."""
    answers = {"eth_gasPrice": "0x3b9aca00", "eth_getBalance": "0x0", "eth_getBlockByNumber": {"baseFeePerGas": "0x7"}}

    def reply(body: bytes) -> bytes:
        request = json.loads(body)
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if request["method"] in answers:
            answer["result"] = answers[request["method"]]
        else:
            answer["error"] = {"code": -32601, "message": f"the method {request['method']} does not exist"}
        return json.dumps(answer).encode()

    yield from _answering(reply)


def test_an_account_a_priced_node_cannot_fund_is_refused_in_a_sentence(priced_node: str) -> None:
    account = Account.create()
    with pytest.raises(ChainError, match=f"account {account.address} has no funds for gas and this node cannot"):
        _session(priced_node).fund(account.address)


@pytest.fixture
def web_server() -> Iterator[str]:
    """An HTTP server that is no JSON-RPC node: it answers every POST 501."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.send_error(501, "Unsupported method")

    yield from _serve(Handler)


def test_a_server_that_is_no_node_is_named_by_what_it_answered(web_server: str) -> None:
    with pytest.raises(ChainError) as refused:
        ChainSession.connect(web_server)
    assert str(refused.value) == f"no JSON-RPC chain at {web_server}: the server answered HTTP 501 Unsupported method"
    with pytest.raises(ChainError, match="lost the connection to the chain: the server answered HTTP 501"):
        _session(web_server).head()


#: Replies no JSON-RPC node sends, and what the session says of each.
GARBLED = {
    # deeper than Python's parser reaches: under the recursion limit py_ecc sets, parsing it unguarded
    # overflows the C stack and kills the process
    b'{"jsonrpc": "2.0", "id": 0, "result": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": (
        "the reply is nested too deeply to read"
    ),
    b"<html>maintenance</html>": "the reply is not valid JSON: Expecting value at line 1, column 1",
    b"\xff\xfe{}": "the reply is not UTF-8 text",
    b"[1, 2]": "the reply is JSON but not a JSON-RPC answer",
    b'{"jsonrpc": "2.0", "id": 0}': "the reply is JSON but not a JSON-RPC answer",
}


@pytest.fixture(scope="module", params=list(GARBLED), ids=["nested", "html", "binary", "array", "no result"])
def garbling_node(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A server answering every POST 200 with one garbled reply; yields its URL and what the session says."""
    body: bytes = request.param
    for url in _answering(lambda _: body):
        yield url, GARBLED[body]


def test_a_garbled_reply_at_first_contact_says_what_came_back(garbling_node: tuple[str, str]) -> None:
    url, says = garbling_node
    with pytest.raises(ChainError) as refused:
        ChainSession.connect(url)
    assert str(refused.value).startswith(f"no JSON-RPC chain at {url}: {says}")


@pytest.mark.parametrize("request_", [r for _, r in REQUESTS], ids=[name for name, _ in REQUESTS])
def test_a_garbled_reply_to_any_request_is_a_chain_error(
    garbling_node: tuple[str, str], request_: Callable[[ChainSession], Any]
) -> None:
    url, says = garbling_node
    with pytest.raises(ChainError, match=f"^lost the connection to the chain: {re.escape(says)}"):
        request_(_session(url))


@pytest.fixture
def wrong_chain() -> Iterator[str]:
    """A JSON-RPC server whose chain id is no number (a server of another kind, or a broken one)."""
    yield from _answering(
        lambda body: json.dumps({"jsonrpc": "2.0", "id": json.loads(body)["id"], "result": "0xzz"}).encode()
    )


def test_a_chain_id_that_is_no_number_is_refused_at_first_contact(wrong_chain: str) -> None:
    with pytest.raises(ChainError, match=f"^the node at {wrong_chain} did not answer as a JSON-RPC chain: "):
        ChainSession.connect(wrong_chain)


@pytest.fixture
def refusing_node() -> Iterator[str]:
    """A JSON-RPC server that answers every request with an error (a node whose API is switched off)."""
    yield from _answering(
        lambda body: json.dumps(
            {"jsonrpc": "2.0", "id": json.loads(body)["id"], "error": {"code": -32601, "message": "Method not enabled"}}
        ).encode()
    )


def test_a_node_refusing_the_first_request_is_named_by_its_message(refusing_node: str) -> None:
    """The node's own words, not the Python repr of its error object."""
    with pytest.raises(ChainError) as refused:
        ChainSession.connect(refusing_node)
    assert str(refused.value) == f"the node at {refusing_node} did not answer as a JSON-RPC chain: Method not enabled"


def test_no_server_at_all_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError) as refused:
        ChainSession.connect(url)
    assert str(refused.value) == (
        f"cannot reach a chain at {url}: nothing listens at that address and port (connection refused)"
    )


@pytest.mark.parametrize(
    ("behind", "said"),
    [
        (socket.gaierror(-2, "Name or service not known"), "its host name does not resolve"),
        (TimeoutError("timed out"), "it did not answer in time (timeout)"),
        (OSError(113, "No route to host"), "ConnectionError"),  # nothing more to say than its kind
    ],
)
def test_a_failed_connection_says_why_when_the_error_behind_it_does(behind: OSError, said: str) -> None:
    """requests wraps urllib3's error, which wraps the socket's: the cause is found through the chain."""
    try:
        try:
            raise behind
        except OSError as inner:
            raise requests.ConnectionError("Max retries exceeded") from inner
    except requests.ConnectionError as exc:
        assert network_failure(exc).startswith(said)


@pytest.mark.parametrize(
    "url", ["http://", "http://[::1", "http://127.0.0.1:99999", "http://127.0.0.1:0", "ftp://127.0.0.1:1", "localhost"]
)
def test_an_address_that_is_no_http_url_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(repr(url))} is not an http\\(s\\) JSON-RPC address$"):
        ChainSession.connect(url)


def _sends_answered(monkeypatch: pytest.MonkeyPatch, *answers: BaseException | str) -> ChainSession:
    """A session whose sends are answered in turn: a network error raised, a refusal returned."""
    session = _session("http://127.0.0.1:9")
    replies = iter(answers)

    def post(raw: bytes) -> str | None:
        reply = next(replies)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    monkeypatch.setattr(session, "_post_raw", post)
    monkeypatch.setattr("ledger.chain.session.RETRY_BACKOFF_S", 0.0)
    return session


@pytest.mark.parametrize(
    "answer",
    [
        "already known",  # geth, anvil
        "Known transaction",  # Besu (JsonRpcError ETH_SEND_TX_ALREADY_KNOWN)
        "Transaction with the same hash was already imported.",  # OpenEthereum
    ],
)
def test_a_send_again_of_what_the_node_already_holds_counts_as_sent(
    monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """A reply lost after the node took the transaction: the same bytes sent again are answered, in
    each node's words, as known. That is the send done, not a refusal."""
    session = _sends_answered(monkeypatch, requests.ConnectionError("connection reset"), answer)
    unsent = Prepared(sender=Account.create().address, tx={"nonce": 0}, raw=b"\1", tx_hash=b"\1" * 32)
    session.submit(unsent)  # returns: nothing raised


def test_a_send_the_node_refuses_for_another_reason_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    session = _sends_answered(monkeypatch, "insufficient funds for gas * price + value")
    unsent = Prepared(sender=Account.create().address, tx={"nonce": 0}, raw=b"\1", tx_hash=b"\1" * 32)
    with pytest.raises(NodeRefused, match="^the node refused the transaction: insufficient funds for gas"):
        session.submit(unsent)


@pytest.mark.parametrize(
    "answer",
    [
        "Transaction nonce is too distant from current sender nonce",  # Besu's sequenced pool
        "txpool is full",  # geth
    ],
)
def test_a_send_the_pool_has_no_room_for_yet_is_told_apart(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    """Not taken, and taken later (an import sends it again as blocks make room): a `PoolFull`, which is
    still a refusal for a command that sends one transaction."""
    session = _sends_answered(monkeypatch, answer)
    unsent = Prepared(sender=Account.create().address, tx={"nonce": 0}, raw=b"\1", tx_hash=b"\1" * 32)
    with pytest.raises(PoolFull, match="^the node's transaction pool has no room for it yet") as refused:
        session.submit(unsent)
    assert isinstance(refused.value, NodeRefused)


def _await(session: ChainSession) -> Any:
    unsent = Prepared(sender=Account.create().address, tx={"nonce": 0}, raw=b"", tx_hash=b"\1" * 32)
    return session.await_mined(unsent)


def _index_sync(session: ChainSession) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        index = LogIndex(Path(folder) / "index.sqlite")
        try:
            return list(index.sync_events(session, {"points": CONTRACT}, {}, from_block=0, to_block=3))
        finally:
            index.db.close()


CONTRACT = "0x" + "11" * 20
#: Every read of a node's answer: those of `REQUESTS`, and those that would wait (or read logs) on a
#: node that is gone.
READS = [
    *REQUESTS,
    ("call", lambda s: s.call(s.contract(CONTRACT, artifact("Membership")).functions.isActive(CONTRACT))),
    ("estimate", lambda s: s.estimate(CONTRACT, to=CONTRACT, data=b"")),
    ("batch", lambda s: s.rpc_batch([("eth_blockNumber", [])])),
    ("block times", lambda s: s.block_times([1, 2])),
    ("receipt awaited", _await),
    ("logs", lambda s: list(iter_logs(s, {"points": CONTRACT}, from_block=0, to_block=3))),
    ("logs into the index", _index_sync),
]

topic, spec = next((t, s) for t, s in event_specs().items() if s.name == "SettlementRecorded")
#: Well-formed JSON-RPC answers whose result has a shape no node gives: a number that is no hex, an
#: object where a number belongs, a block or receipt with a field garbled, a log of a known event whose
#: data is cut short.
MISSHAPEN: dict[str, Any] = {
    "no hex": "0xzz",
    "object": {},
    "list": [],
    "number": 5,
    "null": None,
    "garbled fields": {"timestamp": "0xzz", "hash": "0x1", "status": "0xzz", "logs": [{"topics": ["0xzz"]}]},
    "short log": [
        {
            "blockNumber": "0x1",
            "logIndex": "0x0",
            "transactionHash": "0x" + "22" * 32,
            "address": CONTRACT,
            "topics": [topic, *["0x" + "00" * 32] * (spec.topic_count - 1)],
            "data": "0x00",
        }
    ],
}


@pytest.fixture(scope="module", params=list(MISSHAPEN.values()), ids=list(MISSHAPEN))
def misshapen_node(request: pytest.FixtureRequest) -> Iterator[str]:
    """A node that knows its chain id (so that a session can connect) and answers everything else with one
    misshapen result."""

    def reply(body: bytes) -> bytes:
        asked = json.loads(body)
        answers = [
            {"jsonrpc": "2.0", "id": a["id"], "result": "0x1" if a["method"] == "eth_chainId" else request.param}
            for a in (asked if isinstance(asked, list) else [asked])
        ]
        return json.dumps(answers if isinstance(asked, list) else answers[0]).encode()

    yield from _answering(reply)


@pytest.mark.parametrize("read", [r for _, r in READS], ids=[name for name, _ in READS])
def test_a_misshapen_answer_is_a_chain_error_naming_what_was_read(
    misshapen_node: str, read: Callable[[ChainSession], Any]
) -> None:
    """What a broken node may send after a good first contact: each read either makes sense of it (a
    null receipt is one not yet mined) or says in a `ChainError` what it could not read, never a crash."""
    try:
        read(_session(misshapen_node))
    except ChainError as refused:
        assert re.match(
            r"the node(.s answer for .+ cannot be read: .+| gave nothing for .+| refused .+)$", str(refused)
        )


@pytest.fixture
def small_batch_node() -> Iterator[tuple[str, list[int], list[str]]]:
    """A node that answers every call `true` and refuses a batch of more than 4 requests whole (Besu's
    `--rpc-http-max-batch-size`); yields its URL, the size of every request it was sent, and the block
    each call of a batch it answered asked about."""
    sizes: list[int] = []
    blocks: list[str] = []
    true = "0x" + "00" * 31 + "01"

    def reply(body: bytes) -> bytes:
        asked = json.loads(body)
        if not isinstance(asked, list):
            sizes.append(1)
            return json.dumps({"jsonrpc": "2.0", "id": asked["id"], "result": true}).encode()
        sizes.append(len(asked))
        if len(asked) > 4:
            refusal = {"code": -32005, "message": "Number of requests exceeds max batch size"}
            return json.dumps({"jsonrpc": "2.0", "id": None, "error": refusal}).encode()
        blocks.extend(a["params"][1] for a in asked)
        return json.dumps([{"jsonrpc": "2.0", "id": a["id"], "result": true} for a in asked]).encode()

    for url in _answering(reply):
        yield url, sizes, blocks


def _is_active(url: str) -> tuple[ChainSession, Any]:
    """A session with the node at `url`, and the call asking whether ACCOUNT is an active member."""
    session = _session(url)
    return session, session.contract(ACCOUNT, artifact("Membership")).functions.isActive(ACCOUNT)


def test_calls_go_in_batches_and_one_too_large_for_the_node_is_sent_again_in_halves(
    small_batch_node: tuple[str, list[int], list[str]],
) -> None:
    url, sizes, blocks = small_batch_node
    session, is_active = _is_active(url)
    assert session.call_all([is_active] * 10) == [True] * 10
    assert sizes == [10, 5, 2, 3, 5, 2, 3]  # never one request per call
    assert blocks == ["latest"] * 10


def test_calls_in_batches_ask_about_the_block_they_are_given(
    small_batch_node: tuple[str, list[int], list[str]],
) -> None:
    """A verification reads every balance as of the block its events end at, in batches as well."""
    url, sizes, blocks = small_batch_node
    session, is_active = _is_active(url)
    assert session.call_all([is_active] * 3, block=1234) == [True] * 3
    assert (sizes, blocks) == ([3], [hex(1234)] * 3)

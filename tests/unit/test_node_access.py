"""Reaching a node beyond its URL: an https node whose certificate a private network's authority
issued (verified with `--rpc-ca`, refused in a sentence without it), and a node whose JSON-RPC
requires a bearer token (`--rpc-token-file`)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ledger.chain.session import ChainSession
from ledger.chain.transport import NodeAccess
from ledger.cli import main
from ledger.config import Config
from ledger.errors import ChainError, ConfigError, InputError
from ledger.services.workspace import Workspace
from tests.besu import Logins, listed, unauthorized

CHAIN_ID = 15150


@dataclass
class TlsNode:
    url: str
    ca: Path  # the private authority that issued the node's certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey, *, ca: bool
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
def tls_node(tmp_path: Path) -> Iterator[TlsNode]:
    """A loopback https JSON-RPC server answering `eth_chainId`, its certificate from a private CA."""
    ca_key, node_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("network CA", ca_key, "network CA", ca_key, ca=True)
    node_cert = _certificate("node-1", node_key, "network CA", ca_key, ca=False)
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "node.pem").write_bytes(node_cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "node.key").write_bytes(
        node_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "node.pem", tmp_path / "node.key")
    for url in _serve(context=context):
        yield TlsNode(url=url, ca=tmp_path / "ca.pem")


def _serve(
    *,
    context: ssl.SSLContext | None = None,
    token: str | None = None,
    status: int | None = None,
    received: list[str] | None = None,
    logins: Logins | None = None,
) -> Iterator[str]:
    """The URL of a loopback JSON-RPC server answering `eth_chainId` (over TLS with `context`; only to
    requests bearing `token`, when given, else HTTP 401; only to users logged in as `logins` says, when
    given; with HTTP `status` to every request, when given), for as long as the caller holds it. Each
    request's path is appended to `received`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if received is not None:
                received.append(self.path)
            if logins is not None and self.path == "/login":
                given = logins.log_in(request)
                if given is None:
                    self.send_error(401, "Unauthorized")
                else:
                    self._answer(200, json.dumps({"token": given}).encode())
                return
            refused = logins.refused(self.headers.get("Authorization"), request) if logins else []
            if not isinstance(request, list) and any(refused):
                self._answer(401, json.dumps(unauthorized(request)).encode())
                return
            if status is not None:
                if status == 400:  # as Besu answers a request it cannot parse: the reason in a JSON-RPC error
                    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32602, "message": "Invalid params"}}
                    self._answer(400, json.dumps(error).encode())
                else:
                    self.send_error(status)
                return
            if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                self.send_error(401, "Unauthorized")
                return
            answers = [
                unauthorized(r)
                if refused and refused[i]
                else {"jsonrpc": "2.0", "id": r["id"], "result": hex(CHAIN_ID)}
                for i, r in enumerate(listed(request))
            ]
            self._answer(200, json.dumps(answers if isinstance(request, list) else answers[0]).encode())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_node_certified_by_the_network_authority_is_reached_with_it(tls_node: TlsNode) -> None:
    session = ChainSession.connect(tls_node.url, access=NodeAccess(tls_ca=str(tls_node.ca)))
    assert session.chain_id == CHAIN_ID
    assert session.connect_again().chain_id == CHAIN_ID  # the second connection (log reading) verifies alike


def test_a_workspace_reaches_the_node_with_its_rpc_ca(tls_node: TlsNode, tmp_path: Path) -> None:
    config = Config(home=tmp_path / "home", rpc=tls_node.url, rpc_ca=tls_node.ca)
    assert Workspace(config).session.chain_id == CHAIN_ID


def test_without_the_authority_the_certificate_is_refused_in_a_sentence(tls_node: TlsNode) -> None:
    with pytest.raises(ChainError, match="its TLS certificate could not be verified .*--rpc-ca FILE"):
        ChainSession.connect(tls_node.url)


def test_an_http_node_given_as_https_is_told_it_does_not_answer_in_tls() -> None:
    for url in _serve():  # a plain http server
        with pytest.raises(ChainError, match=r"it does not answer in TLS \(a node served over http:// given as https"):
            ChainSession.connect(url.replace("http://", "https://"))


def test_another_authority_is_refused_alike(tls_node: TlsNode, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = tmp_path / "other-ca.pem"
    other.write_bytes(_certificate("other CA", key, "other CA", key, ca=True).public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ChainError, match="its TLS certificate could not be verified"):
        ChainSession.connect(tls_node.url, access=NodeAccess(tls_ca=str(other)))


@pytest.mark.parametrize(
    ("url", "ca", "message"),
    [
        ("http://127.0.0.1:8545", "ca.pem", "verifies an https node, and http://127.0.0.1:8545 is not one"),
        ("https://127.0.0.1:8545", "missing.pem", "no certificate authority file at"),
    ],
)
def test_an_rpc_ca_that_cannot_apply_is_refused_before_any_request(
    tmp_path: Path, url: str, ca: str, message: str
) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        ChainSession.connect(url, access=NodeAccess(tls_ca=str(tmp_path / ca)))


TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJwZXJtaXNzaW9ucyI6WyIqOioiXX0.c2lnbmF0dXJl"


@pytest.fixture
def token_node() -> Iterator[str]:
    """A node whose JSON-RPC answers only requests bearing `TOKEN` (Besu's JWT authentication)."""
    yield from _serve(token=TOKEN)


def test_a_node_requiring_a_token_is_reached_with_it(token_node: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    workspace = Workspace(Config(home=tmp_path / "home", rpc=token_node, rpc_token_file=token_file))
    session = workspace.session
    assert session.chain_id == CHAIN_ID
    assert session.connect_again().chain_id == CHAIN_ID
    assert session.rpc_batch([("eth_chainId", []), ("eth_chainId", [])]) == [hex(CHAIN_ID)] * 2  # batches too
    assert TOKEN not in repr(session) and TOKEN not in repr(session.access)  # never shown


def test_without_the_token_the_node_answer_is_told_with_the_option_to_give(token_node: str) -> None:
    with pytest.raises(
        ChainError,
        match="HTTP 401 Unauthorized \\(a node that requires authentication .*--rpc-token-file FILE, or "
        "a user with --rpc-user NAME",
    ):
        ChainSession.connect(token_node)
    with pytest.raises(
        ChainError, match="refuses eth_chainId with the token given \\(--rpc-token-file\\): it may"
    ) as refused:
        ChainSession.connect(token_node, access=NodeAccess(token="wrong-token"))
    assert "wrong-token" not in str(refused.value)


PASSWORD = "correct horse battery staple"  # noqa: S105 (a test user's)


def test_a_user_logs_in_and_logs_in_again_when_the_token_expires(tmp_path: Path) -> None:
    """Besu's username-and-password authentication: the token from `/login` goes with every request, and
    when it expires (401) the client logs in again and sends the request once more: a long import or
    verification outlives many tokens."""
    logins, received = Logins({"operator": PASSWORD}, lifetime=2), []
    for url in _serve(logins=logins, received=received):
        password_file = tmp_path / "password"
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        config = Config(home=tmp_path / "home", rpc=url, rpc_user="operator", rpc_password_file=password_file)
        session = Workspace(config).session
        assert session.chain_id == CHAIN_ID
        for _ in range(5):
            assert session.rpc_batch([("eth_chainId", []), ("eth_chainId", [])]) == [hex(CHAIN_ID)] * 2
        assert session.connect_again().chain_id == CHAIN_ID  # its own login
    # 7 requests answered (the chain id on first contact, 5 batches, the second connection's chain id), each
    # token good for 2: 2 requests refused as expired and sent again after a new login, and the second
    # connection's own login
    assert logins.given == 4 and received.count("/login") == 4
    assert received.count("/") == 9 and sum(logins.uses.values()) == 7
    assert PASSWORD not in repr(session) and PASSWORD not in repr(session.access)


@pytest.mark.parametrize(
    ("logins", "user", "told"),
    [
        (Logins({"operator": PASSWORD}), "auditor", "refused the user 'auditor' with that password"),
        (
            Logins({"operator": PASSWORD}, permitted={"eth_blockNumber"}),
            "operator",
            "refuses eth_chainId to the user 'operator': the permissions of that user",
        ),
        (Logins({"operator": PASSWORD}, lifetime=0), "operator", "refuses eth_chainId to the user 'operator'"),
    ],
)
def test_a_login_the_node_refuses_is_told_in_a_sentence(logins: Logins, user: str, told: str) -> None:
    for url in _serve(logins=logins):
        with pytest.raises(ChainError, match=told) as refused:
            ChainSession.connect(url, access=NodeAccess(login=(user, PASSWORD)))
    assert PASSWORD not in str(refused.value)


def test_a_batch_with_a_request_the_user_may_not_make_is_told_in_a_sentence() -> None:
    """Besu answers a batch 200, each request the user may not make by its error -40100: after one more
    login, the batch is refused naming its methods."""
    logins = Logins({"operator": PASSWORD}, permitted={"eth_chainId"})
    for url in _serve(logins=logins):
        session = ChainSession.connect(url, access=NodeAccess(login=("operator", PASSWORD)))
        assert session.rpc_batch([("eth_chainId", [])]) == [hex(CHAIN_ID)]
        with pytest.raises(ChainError, match="refuses a batch of 2 requests \\(eth_blockNumber, eth_chainId\\)"):
            session.rpc_batch([("eth_chainId", []), ("eth_blockNumber", [])])
    assert logins.given == 2


def test_a_node_without_a_login_is_told_to_take_a_token() -> None:
    """Besu with JWT public-key authentication has no `/login`: its tokens are made elsewhere."""
    for url in _serve(status=404):
        with pytest.raises(ChainError, match="answered the login at .*/login with HTTP 404 .*--rpc-token-file"):
            ChainSession.connect(url, access=NodeAccess(login=("operator", PASSWORD)))


def test_the_password_comes_from_a_file_the_environment_or_nowhere_else_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = Config(home=tmp_path, rpc="http://127.0.0.1:9", rpc_user="operator")
    monkeypatch.delenv("LEDGER_RPC_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(ConfigError, match="a node password is needed: set LEDGER_RPC_PASSWORD, pass --rpc-password"):
        Workspace(config).node_access()
    monkeypatch.setenv("LEDGER_RPC_PASSWORD", PASSWORD)
    assert Workspace(config).node_access().login == ("operator", PASSWORD)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    both = Config(home=tmp_path, rpc="http://127.0.0.1:9", rpc_user="operator", rpc_token_file=token_file)
    with pytest.raises(InputError, match="with a token \\(--rpc-token-file\\) or with a user and password"):
        Workspace(both).node_access()


def test_a_shell_gives_the_user_and_its_password_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """LEDGER_RPC_USER with LEDGER_RPC_PASSWORD_FILE (or LEDGER_RPC_PASSWORD): every command logs in."""
    scenario = Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json"
    password_file = tmp_path / "password"
    password_file.write_text("not the password\n", encoding="utf-8")
    monkeypatch.setenv("LEDGER_RPC_USER", "operator")
    monkeypatch.setenv("LEDGER_RPC_PASSWORD_FILE", str(password_file))
    logins = Logins({"operator": PASSWORD})
    for url in _serve(logins=logins):
        assert main(["run", str(scenario), "--rpc", url]) == 1
        refused = capsys.readouterr()
        assert f"the node at {url} refused the user 'operator' with that password" in refused.err
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        assert main(["run", str(scenario), "--rpc", url]) == 1  # in: it answers nothing but its chain id
        admitted = capsys.readouterr()
        assert "the node's answer" in admitted.err
    assert logins.given == 1
    printed = refused.out + refused.err + admitted.out + admitted.err
    assert "not the password" not in printed and PASSWORD not in printed


@pytest.mark.parametrize(
    ("status", "asked", "told"),
    [
        (400, 1, "HTTP 400 Bad Request (Invalid params)"),  # the node's reason, from the body
        (401, 1, "HTTP 401 Unauthorized (a node that requires authentication"),
        (403, 1, "HTTP 403 Forbidden"),
        (404, 1, "HTTP 404 Not Found"),
        (503, 5, "HTTP 503 Service Unavailable"),
        (429, 5, "HTTP 429 Too Many Requests"),
    ],
)
def test_an_answer_that_asking_again_cannot_change_is_not_asked_again(status: int, asked: int, told: str) -> None:
    """A refusal (400, 401, 403, 404) is told after one request, with the reason the node gives; a node
    that is restarting or busy (503, 429) is asked again, as web3's provider does, before the command
    gives up."""
    received: list[str] = []
    for url in _serve(status=status, received=received):
        with pytest.raises(ChainError) as refused:
            ChainSession.connect(url)
    assert told in str(refused.value)
    assert len(received) == asked


def test_a_token_that_expires_is_told_as_the_token_not_as_a_lost_connection() -> None:
    """A token file's JWT carries its expiry, and the client cannot renew it: the request the node then
    refuses (one, or a batch answered 200 with error -40100) says the token may have expired."""
    logins = Logins({"operator": PASSWORD}, lifetime=1)
    for url in _serve(logins=logins):
        token = logins.log_in({"username": "operator", "password": PASSWORD})
        session = ChainSession.connect(url, access=NodeAccess(token=token))  # its one request
        with pytest.raises(ChainError, match="refuses a batch of 2 requests \\(eth_chainId\\) with the token given"):
            session.rpc_batch([("eth_chainId", []), ("eth_chainId", [])])
        with pytest.raises(ChainError, match="refuses eth_chainId with the token given .*it may have expired"):
            session.connect_again()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "does not hold one token"),
        (b"two tokens\n", "does not hold one token"),
        (b"\xff\xfe", "is not UTF-8 text"),
    ],
)
def test_a_token_file_that_holds_no_token_is_refused_before_any_request(
    tmp_path: Path, content: bytes, message: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(content)
    config = Config(home=tmp_path / "home", rpc="http://127.0.0.1:9", rpc_token_file=token_file)
    with pytest.raises(InputError, match=message):
        Workspace(config).node_access()
    with pytest.raises(InputError, match="no token file at"):
        Workspace(Config(home=tmp_path, rpc="http://127.0.0.1:9", rpc_token_file=tmp_path / "nope")).node_access()


@pytest.mark.parametrize(
    ("variable", "message"),
    [("LEDGER_RPC_CA", "no certificate authority file at {}"), ("LEDGER_RPC_TOKEN_FILE", "no token file at {}")],
)
def test_each_option_defaults_to_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, variable: str, message: str
) -> None:
    """Every command against one network needs them: a shell gives them once."""
    missing = tmp_path / "missing.pem"
    monkeypatch.setenv(variable, str(missing))
    scenario = Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json"
    assert main(["run", str(scenario), "--rpc", "https://127.0.0.1:9"]) == 1
    assert message.format(missing) in capsys.readouterr().err


def test_the_shells_authority_is_for_https_nodes_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A shell set up for the production network (LEDGER_RPC_CA) still reaches a local http node, where
    an authority named on the command line for an http node is a mistake said in a sentence."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    monkeypatch.setenv("LEDGER_RPC_CA", str(ca))
    scenario = Path(__file__).resolve().parents[2] / "ledger" / "data" / "demo-scenario.json"
    for url in _serve():
        assert Workspace(Config(home=tmp_path, rpc=url, rpc_ca_env=ca)).session.chain_id == CHAIN_ID
        assert main(["run", str(scenario), "--rpc", url]) == 1  # reached: it answers nothing but its chain id
        assert "the node's answer" in capsys.readouterr().err
        assert main(["run", str(scenario), "--rpc", url, "--rpc-ca", str(ca)]) == 1
        assert f"verifies an https node, and {url} is not one" in capsys.readouterr().err
    https = Workspace(Config(home=tmp_path, rpc="https://127.0.0.1:9", rpc_ca_env=ca))
    assert https.node_access().tls_ca == str(ca)

"""How requests reach a JSON-RPC node: over HTTP or HTTPS (a private network's certificate authority),
with the bearer token or the user login its JSON-RPC requires, every reply read as `parse_json` reads
a file, and every failure on the way told in a sentence.

An answer that asking again cannot change (a 4xx other than 408 and 429) is raised as it arrives,
while a node that is restarting or busy is asked again by web3's provider; a user's token that the
node stops taking (Besu's expire after five minutes) is renewed by logging in again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import requests
from web3 import HTTPProvider

from ledger.errors import ChainError, InputError
from ledger.files import JsonProblem, parse_json


class UnreadableReply(ConnectionError):
    """A reply from the node that is not a JSON-RPC answer the ledger can read, handled as a reply lost
    on the way: the command says so in a sentence, and running it again resumes."""


class NodeProvider(HTTPProvider):
    """web3's HTTP provider, reading each reply as `parse_json` reads a file: a reply nested deeper than
    Python's parser reaches (which would crash the process, see `parser_recursion_limit`), one that is
    not JSON, or JSON that is no JSON-RPC answer raises `UnreadableReply` instead."""

    @staticmethod
    def decode_rpc_response(raw_response: bytes) -> Any:
        """A node's reply as JSON, or `UnreadableReply` saying why it is none."""
        try:
            reply = parse_json(raw_response.decode("utf-8"))
        except UnicodeDecodeError:
            raise UnreadableReply("the reply is not UTF-8 text") from None
        except JsonProblem as exc:
            raise UnreadableReply(f"the reply is {exc}") from None
        answers = reply if isinstance(reply, list) else [reply]
        if not all(isinstance(a, dict) and ("result" in a or "error" in a) for a in answers):
            raise UnreadableReply("the reply is JSON but not a JSON-RPC answer")
        return reply


class FinalHttpAnswer(requests.RequestException):
    """An HTTP answer that asking again will not change (401 without a token, 403, 404 on a wrong path,
    413 for a request too large): raised as the answer arrives, so that the provider's retries, meant for
    a node that is restarting or busy (5xx, 408, 429, a timeout), do not repeat it five times over two
    seconds before the command can say what is wrong."""


#: Client errors (4xx) that do not pass by asking again; 408 (timed out) and 429 (too many) do.
_FINAL_STATUSES = frozenset(range(400, 500)) - {408, 429}


def _refuse_final_answers(response: requests.Response, *args: object, **kwargs: object) -> None:
    """A `requests` response hook: a final client error becomes `FinalHttpAnswer` (see there)."""
    if response.status_code in _FINAL_STATUSES:
        response.content  # noqa: B018  read now (the node's reason, if it gives one) and the connection freed
        raise FinalHttpAnswer(f"{response.status_code} {response.reason}", response=response)


def _json_body(data: bytes) -> Any:
    """A body read as JSON (as `parse_json` reads a file), or None when it is not JSON text."""
    try:
        return parse_json(data.decode("utf-8"))
    except (UnicodeDecodeError, JsonProblem):
        return None


#: What is read of a short answer beside its status (a refusal's reason, a login's token).
_SHORT_ANSWER = 65_536


def _answer_reason(response: requests.Response) -> str | None:
    """The message of the JSON-RPC error a node sent with its HTTP status (Besu answers a request it
    cannot parse with 400 and says why in the body), if the body is one."""
    body = _json_body(response.content[:_SHORT_ANSWER])
    error = body.get("error") if isinstance(body, dict) else None
    return error_text(error) if error is not None else None


#: What a request raises when it does not reach the node or its reply is lost on the way (a command
#: then says so in a sentence, and running it again resumes).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,  # refused, reset, timed out, a reply cut short (ChunkedEncodingError), ...
    ConnectionError,  # UnreadableReply among them
    TimeoutError,
)


def is_http_url(url: str) -> bool:
    """An http(s) URL with a host, and a port from 1 to 65535 if it names one."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range, an unclosed IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0


def network_failure(exc: BaseException) -> str:
    """What went wrong on the way to the node, in a few words: the HTTP status a server answered
    with (one that is not a JSON-RPC node, or that refuses the request), else the kind of failure
    (ConnectionError), or why, when the error behind it says."""
    response = getattr(exc, "response", None)
    if isinstance(exc, (requests.HTTPError, FinalHttpAnswer)) and response is not None:
        answered = f"the server answered HTTP {response.status_code} {response.reason}"
        reason = _answer_reason(response) if isinstance(exc, FinalHttpAnswer) else None  # its body was read
        if reason and reason.lower() != str(response.reason).lower():
            answered += f" ({reason[:200]})"
        if response.status_code in (401, 403):  # Besu with --rpc-http-authentication-enabled, or a gateway
            answered += f" ({_AUTHENTICATION_OPTIONS})"
        return answered
    if isinstance(exc, UnreadableReply):
        return str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        if "WRONG_VERSION_NUMBER" in str(exc):  # the server answered, not in TLS
            return "it does not answer in TLS (a node served over http:// given as https://?)"
        return "its TLS certificate could not be verified (a private network's authority is given with --rpc-ca FILE)"
    return _cause_of(exc) or exc.__class__.__name__


def _cause_of(exc: BaseException) -> str | None:
    """Why a connection failed, in words, when one of the errors behind it says: a host name that
    does not resolve, nothing listening at the port, no answer in time."""
    import socket

    seen: BaseException | None = exc
    for _ in range(8):  # requests wraps urllib3, which wraps the socket's error
        if seen is None:
            return None
        if isinstance(seen, socket.gaierror):
            return "its host name does not resolve (no such host, or no name service)"
        if isinstance(seen, ConnectionRefusedError):
            return "nothing listens at that address and port (connection refused)"
        if isinstance(seen, (requests.Timeout, TimeoutError)):  # (socket.timeout is TimeoutError)
            return "it did not answer in time (timeout)"
        seen = seen.__cause__ or seen.__context__
    return None


_AUTHENTICATION_OPTIONS = (
    "a node that requires authentication is given a token with --rpc-token-file FILE, or a user with --rpc-user NAME"
)


def _login_url(url: str) -> str:
    """Where a node takes a user's name and password (Besu: `/login`, beside its JSON-RPC root)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/login", "", ""))


def _requested_methods(request: requests.PreparedRequest) -> str:
    """The JSON-RPC methods a request asked for, for a sentence ("eth_getLogs", "a batch of 64 requests")."""
    raw = request.body
    body = _json_body(raw if isinstance(raw, bytes) else str(raw).encode("utf-8"))
    if isinstance(body, list):
        methods = sorted({str(r.get("method")) for r in body if isinstance(r, dict)})
        return f"a batch of {len(body)} requests ({', '.join(methods)})"
    return str(body.get("method")) if isinstance(body, dict) else "the request"


#: The JSON-RPC error code of Besu's answer to a request its caller may not make (no token, an expired
#: one, a method outside the user's permissions): with HTTP 401 for one request, in the answer of each
#: such request of a batch (answered 200).
UNAUTHORIZED_CODE = -40100
_UNAUTHORIZED_MARK = str(UNAUTHORIZED_CODE).encode()  # looked for in an answer before it is parsed


def _unauthorized(response: requests.Response) -> bool:
    """Whether the node refused the request, or a request of the batch, as unauthorized."""
    if response.status_code == 401:
        return True
    if response.status_code != 200 or _UNAUTHORIZED_MARK not in response.content:
        return False  # (the usual answer: not parsed here)
    answers = _json_body(response.content)
    return isinstance(answers, list) and any(
        isinstance(a, dict) and isinstance(a.get("error"), dict) and a["error"].get("code") == UNAUTHORIZED_CODE
        for a in answers
    )


@dataclass
class _Login:
    """A user logged in to a node (Besu's username-and-password authentication): the token the node
    gives at its login is sent with every request, and asked for again when the node refuses it (Besu's
    tokens expire after five minutes; a long import or verification outlives several)."""

    url: str
    user: str
    password: str = field(repr=False)
    http: requests.Session
    timeout_s: float

    def log_in(self) -> None:
        """Ask the node for a token and send it from now on; a refusal is said in a sentence."""
        where = _login_url(self.url)
        plain = requests.Session()  # without the hooks of `http`: a 401 here is an answer, not an expiry
        plain.trust_env, plain.verify = False, self.http.verify
        try:
            with plain:
                response = plain.post(
                    where, json={"username": self.user, "password": self.password}, timeout=self.timeout_s
                )
        except NETWORK_ERRORS as exc:
            raise ChainError(f"cannot log in to the node at {self.url}: {network_failure(exc)}") from None
        if response.status_code == 401:
            raise ChainError(f"the node at {self.url} refused the user {self.user!r} with that password")
        if response.status_code != 200:
            raise ChainError(
                f"the node at {self.url} answered the login at {where} with HTTP {response.status_code} "
                f"{response.reason}: it takes no user and password (a node without authentication needs none; "
                "Besu with JWT public-key authentication is given its token with --rpc-token-file FILE)"
            )
        body = _json_body(response.content[:_SHORT_ANSWER])
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not is_token(token):
            raise ChainError(f"the node at {self.url} answered the login of {self.user!r} without a token")
        self.http.headers["Authorization"] = f"Bearer {token}"

    def renew_on_expiry(self, response: requests.Response, **kwargs: Any) -> requests.Response | None:
        """A `requests` response hook: a request refused as unauthorized (the token expired) logs in again
        and is sent once more with the new token; refused again, the user may not make that request."""
        if not _unauthorized(response):
            return None
        response.close()
        self.log_in()
        again = response.request.copy()
        again.headers["Authorization"] = str(self.http.headers["Authorization"])
        again.hooks = {"response": []}
        answer = self.http.send(again, **kwargs)
        if _unauthorized(answer):
            answer.close()
            raise ChainError(
                f"the node at {self.url} refuses {_requested_methods(again)} to the user {self.user!r}: "
                "the permissions of that user, in the node's credentials file, do not include it"
            )
        return answer  # which `_refuse_final_answers`, the next hook, then reads


def error_text(error: Any) -> str:
    """The message of a JSON-RPC error member (an object with a message, or whatever the node sent)."""
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


def is_token(text: str) -> bool:
    """Whether `text` can be a bearer token: printable ASCII without spaces, and not empty."""
    return bool(text) and all(c.isascii() and c.isprintable() and not c.isspace() for c in text)


@dataclass(frozen=True)
class NodeAccess:
    """How a node is reached beyond its URL: the certificate authority (PEM file) of an https node whose
    certificate a private network issued (else the system's authorities verify it), and the bearer
    token (a JWT) its JSON-RPC requires (Besu's `--rpc-http-authentication-enabled`), never shown."""

    tls_ca: str | None = None
    token: str | None = field(default=None, repr=False)
    #: a user of the node's JSON-RPC and its password (Besu's username-and-password authentication)
    login: tuple[str, str] | None = field(default=None, repr=False)


def _refuse_the_token(url: str, response: requests.Response, **kwargs: Any) -> None:
    """A `requests` response hook: a request refused as unauthorized with the token of a token file
    (which the client cannot renew) is told in a sentence saying what may be wrong with it."""
    if _unauthorized(response):
        response.close()
        raise ChainError(
            f"the node at {url} refuses {_requested_methods(response.request)} with the token given "
            "(--rpc-token-file): it may have expired (a JWT carries its expiry), or not permit that, or not be "
            "one this node takes"
        )


def node_session(url: str, access: NodeAccess, *, timeout_s: float) -> requests.Session:
    """The HTTP session that reaches the node at `url` as `access` says (logged in already when it
    names a user); an address or an authority that cannot apply is refused before any request."""
    if not is_http_url(url):
        raise InputError(f"{url!r} is not an http(s) JSON-RPC address")
    if access.tls_ca is not None:
        if not url.lower().startswith("https://"):
            raise InputError(f"--rpc-ca (or LEDGER_RPC_CA) verifies an https node, and {url} is not one")
        if not Path(access.tls_ca).is_file():
            raise InputError(f"no certificate authority file at {access.tls_ca} (--rpc-ca or LEDGER_RPC_CA)")
    http = requests.Session()
    # No look-up in the environment on every request (proxies, .netrc): the node is named by its URL.
    http.trust_env = False
    if access.tls_ca is not None:
        http.verify = access.tls_ca
    if access.token is not None:
        http.headers["Authorization"] = f"Bearer {access.token}"
        http.hooks["response"].append(partial(_refuse_the_token, url))
    if access.login is not None:
        login = _Login(url, *access.login, http=http, timeout_s=timeout_s)
        login.log_in()
        http.hooks["response"].append(login.renew_on_expiry)
    http.hooks["response"].append(_refuse_final_answers)
    return http

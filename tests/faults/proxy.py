"""A loopback JSON-RPC proxy that loses replies on purpose (for fault tests only).

It forwards every request to the node; for the methods it is told to disturb, it then drops the
connection without answering a given share of the time, so the client sees a lost reply for a
request that the node did receive and act on. Told a `max_batch` or a `max_log_range`, it refuses
a larger batch of requests whole, or a log request over more blocks, as a node limiting them does.
Told a `pool_per_sender`, it refuses a transaction whose nonce is that many or more ahead of its
sender's account, as Besu's sequenced transaction pool does. Told `users`, it answers only requests
bearing a token from its `/login`, each good for `token_lifetime` requests, as Besu's
username-and-password authentication does (its tokens expire after five minutes), and refuses the
others as Besu does.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from tests.besu import Logins, listed, unauthorized

#: Besu's refusal of a transaction too many nonces ahead of its sender's account (its sequenced pool).
NONCE_TOO_DISTANT = "Transaction nonce is too distant from current sender nonce"


class LossyProxy:
    def __init__(
        self,
        upstream: str,
        *,
        drop: dict[str, float],
        seed: int = 7,
        max_batch: int | None = None,
        max_log_range: int | None = None,
        pool_per_sender: int | None = None,
        users: dict[str, str] | None = None,
        token_lifetime: int = 1_000,
    ) -> None:
        self.upstream = urlparse(upstream)
        self.users = None if users is None else Logins(users, lifetime=token_lifetime)
        self.pool_per_sender = pool_per_sender
        self.drop = drop
        self.max_batch = max_batch
        self.max_log_range = max_log_range
        self.refused: Counter[str] = Counter()
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.faults: Counter[str] = Counter()
        self.forwarded = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if proxy.users is not None:
                    if self.path == "/login":
                        with proxy.lock:
                            token = proxy.users.log_in(json.loads(body))
                        if token is None:
                            self.send_error(401, "Unauthorized")
                        else:
                            self._answer(json.dumps({"token": token}).encode())
                        return
                    request = json.loads(body)
                    with proxy.lock:
                        expired = any(proxy.users.refused(self.headers.get("Authorization"), request))
                        proxy.refused["expired token"] += expired
                    if expired:  # Besu's answer to an expired token
                        refusals = [unauthorized(r) for r in listed(request)]
                        batch = isinstance(request, list)
                        self._answer(
                            json.dumps(refusals if batch else refusals[0]).encode(), status=200 if batch else 401
                        )
                        return
                refusal = proxy._refusal(body)
                if refusal is not None:  # as Besu refuses past --rpc-http-max-batch-size, --rpc-max-logs-range
                    self._answer(json.dumps(refusal).encode("utf-8"))
                    return
                answer = proxy._forward(body)
                if proxy._should_drop(body):
                    self.close_connection = True
                    self.connection.close()  # the node acted, the client never hears of it
                    return
                self._answer(answer)

            def _answer(self, answer: bytes, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _forward(self, body: bytes) -> bytes:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        connection.request("POST", "/", body, {"Content-Type": "application/json"})
        answer = connection.getresponse().read()
        connection.close()
        return answer

    @property
    def logins(self) -> int:
        """The tokens the proxy's `/login` gave."""
        return 0 if self.users is None else self.users.given

    def _too_far_ahead(self, raw_hex: str) -> bool:
        """Whether a (legacy) signed transaction's nonce is `pool_per_sender` or more ahead of its
        sender's account nonce (Besu: `nonce - accountNonce >= maxFutureTransactionByAccount`)."""
        import rlp
        from eth_account import Account

        raw = bytes.fromhex(raw_hex.removeprefix("0x"))
        nonce = int.from_bytes(rlp.decode(raw)[0], "big")
        sender = Account.recover_transaction(raw)
        asked = {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionCount", "params": [sender, "latest"]}
        account_nonce = int(json.loads(self._forward(json.dumps(asked).encode()))["result"], 16)
        return nonce - account_nonce >= (self.pool_per_sender or 0)

    def _refusal(self, body: bytes) -> dict[str, object] | None:
        """The error answer to a request past the proxy's limits (counted by kind), else None: a batch
        of more than `max_batch` requests, an `eth_getLogs` over more than `max_log_range` blocks."""
        try:
            request = json.loads(body)
        except json.JSONDecodeError:
            return None  # the node says what it makes of it
        if isinstance(request, list):
            if self.max_batch is None or len(request) <= self.max_batch:
                return None
            kind, reply_id, message = "batch", None, "Number of requests exceeds max batch size"
        elif request.get("method") == "eth_getLogs" and self.max_log_range is not None:
            (params,) = request["params"]
            if int(params["toBlock"], 16) - int(params["fromBlock"], 16) + 1 <= self.max_log_range:
                return None
            kind, reply_id, message = "log range", request.get("id"), "Requested range exceeds maximum range limit"
        elif request.get("method") == "eth_sendRawTransaction" and self.pool_per_sender is not None:
            if not self._too_far_ahead(request["params"][0]):
                return None
            kind, reply_id, message = "pool", request.get("id"), NONCE_TOO_DISTANT
        else:
            return None
        with self.lock:
            self.refused[kind] += 1
        return {"jsonrpc": "2.0", "id": reply_id, "error": {"code": -32005, "message": message}}

    def _should_drop(self, body: bytes) -> bool:
        try:
            request = json.loads(body)
        except json.JSONDecodeError:
            return False
        methods = [r.get("method") for r in request] if isinstance(request, list) else [request.get("method")]
        with self.lock:
            self.forwarded += 1
            for method in methods:
                share = self.drop.get(str(method), 0.0)
                if share and self.random.random() < share:
                    self.faults[str(method)] += 1
                    return True
        return False

    def __enter__(self) -> LossyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

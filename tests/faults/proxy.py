"""A loopback JSON-RPC proxy that loses replies on purpose (for fault tests only).

It forwards every request to the node; for the methods it is told to disturb, it then drops the
connection without answering a given share of the time, so the client sees a lost reply for a
request that the node did receive and act on. Told a `max_batch`, it refuses a larger batch of
requests whole, as a node limiting its batches does.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class LossyProxy:
    def __init__(self, upstream: str, *, drop: dict[str, float], seed: int = 7, max_batch: int | None = None) -> None:
        self.upstream = urlparse(upstream)
        self.drop = drop
        self.max_batch = max_batch
        self.batches_refused = 0
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
                if proxy._too_big(body):  # refused whole, as Besu refuses past --rpc-http-max-batch-size
                    self._answer(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"too many requests"}}')
                    return
                connection = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                connection.request("POST", "/", body, {"Content-Type": "application/json"})
                answer = connection.getresponse().read()
                connection.close()
                if proxy._should_drop(body):
                    self.close_connection = True
                    self.connection.close()  # the node acted, the client never hears of it
                    return
                self._answer(answer)

            def _answer(self, answer: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _too_big(self, body: bytes) -> bool:
        """A batch of more requests than `max_batch`, which is then refused whole (and counted)."""
        if self.max_batch is None or not body.startswith(b"["):
            return False
        with self.lock:
            refused = len(json.loads(body)) > self.max_batch
            self.batches_refused += refused
        return refused

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

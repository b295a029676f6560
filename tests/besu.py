"""Besu's answers, as the test servers and the fault proxy give them: its username-and-password
authentication (a token from `/login`, good for a while) and its refusal of a request its caller may
not make (JSON-RPC error -40100: with HTTP 401 when alone, in its place in a batch answered 200)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def listed(request: Any) -> list[Any]:
    """The requests of an HTTP request: one, or a batch."""
    return request if isinstance(request, list) else [request]


def unauthorized(request: Any) -> dict[str, Any]:
    """Besu's answer to one request its caller may not make."""
    return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -40100, "message": "Unauthorized"}}


@dataclass
class Logins:
    """A node's username-and-password authentication, as Besu's: `POST /login` with a user's name and
    password gives a token, good for `lifetime` HTTP requests (Besu: five minutes), for the methods in
    `permitted` (all when None). A request without a good token, or for another method, is refused."""

    users: dict[str, str]
    lifetime: int = 1_000
    permitted: set[str] | None = None
    given: int = 0  # tokens given
    uses: dict[str, int] = field(default_factory=dict)

    def log_in(self, body: Any) -> str | None:
        """A fresh token for a user and its password, else None."""
        if not isinstance(body, dict) or self.users.get(body.get("username")) != body.get("password"):
            return None
        self.given += 1
        token = f"token-{self.given}-{body['username']}"
        self.uses[token] = 0
        return token

    def refused(self, authorization: str | None, request: Any) -> list[bool]:
        """For each request of the HTTP request (one, or a batch): whether it is refused. A good token's
        use is counted once per HTTP request."""
        token = (authorization or "").removeprefix("Bearer ")
        if token not in self.uses or self.uses[token] >= self.lifetime:
            return [True for _ in listed(request)]
        self.uses[token] += 1
        return [self.permitted is not None and r["method"] not in self.permitted for r in listed(request)]

"""A local index of a deployment's event log (SQLite), synced incrementally in block ranges.

The index is a cache: deleting it loses nothing, and a sync from scratch gives the same events.
It keeps the raw logs (address, topics, data) and the hash of the last block it read, so that a
chain that was reset or reorganised under it is noticed and the index rebuilt.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address

from ledger.chain.logs import (
    DEFAULT_RANGE,
    LogEvent,
    TopicPattern,
    as_bytes,
    as_int,
    checksum,
    decode_log,
    log_ranges,
)
from ledger.chain.session import ChainSession, from_node
from ledger.errors import ConfigError

SCHEMA_VERSION = 1
RangeCallback = Callable[[int, int, int], None]


def default_index_dir() -> Path:
    """Where indexes live: $LEDGER_DATA, else $XDG_DATA_HOME/mkj-ledger (an absolute one), else
    ~/.local/share/mkj-ledger."""
    if os.environ.get("LEDGER_DATA"):
        return Path(os.environ["LEDGER_DATA"]) / "index"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # a relative path in it is to be ignored (XDG Base Directory Specification): it would be relative to
    # wherever the command happens to run
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "mkj-ledger" / "index"


@dataclass(frozen=True)
class SyncStats:
    from_block: int
    to_block: int
    logs: int
    requests: int
    rebuilt: bool


class LogIndex:
    """The raw logs of one deployment, by (block, log index)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: Where a damaged index was moved before this one was begun anew (None when it was sound).
        self.damaged: Path | None = None
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            if not self._is_damaged(exc):
                raise self._unusable(exc) from None
            # A cache whose file is no database (cut short by a full disk, overwritten): nothing in it
            # that the chain does not hold, so it is put aside and read again from the chain.
            if hasattr(self, "db"):
                self.db.close()
            self.damaged = path.with_name(path.name + ".damaged")
            path.replace(self.damaged)
            for extra in ("-wal", "-shm"):
                path.with_name(path.name + extra).unlink(missing_ok=True)
            try:
                self._open()
            except (OSError, sqlite3.Error) as again:
                raise self._unusable(again) from None
        except (OSError, sqlite3.Error) as exc:
            raise self._unusable(exc) from None

    def _is_damaged(self, exc: sqlite3.DatabaseError) -> bool:
        """Whether the file is there but holds no sound database (not a folder that cannot be written)."""
        return self.path.is_file() and ("not a database" in str(exc) or "malformed" in str(exc))

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        # A cache: a crash may lose the last ranges written (never corrupt the file), and they are
        # read again; no flush to disk per range.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS logs (
                block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash BLOB NOT NULL,
                address TEXT NOT NULL, topics BLOB NOT NULL, data BLOB NOT NULL,
                PRIMARY KEY (block, log_index)
            );
            """
        )

    def _unusable(self, exc: OSError | sqlite3.Error) -> ConfigError:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        remedy = "delete it (it is only a cache), or" if self.path.exists() else "it is only a cache:"
        return ConfigError(
            f"the local event index {self.path} cannot be used ({reason}); {remedy} "
            "give it a folder this user can write with --index-dir (or $LEDGER_DATA)"
        )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction on the index; a failure (a full disk, a read-only file) becomes a sentence."""
        try:
            with self.db:
                yield
        except sqlite3.Error as exc:
            raise self._unusable(exc) from None

    @classmethod
    def for_deployment(cls, directory: Path, *, chain_id: int, anchor: str) -> LogIndex:
        """The index of the deployment whose first contract is `anchor` on chain `chain_id`."""
        return cls(directory / f"{chain_id}-{anchor.lower()}.sqlite")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> LogIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def last_block(self) -> int | None:
        value = self._meta("last_block")
        return None if value is None else int(value)

    def clear(self) -> None:
        with self._writing():
            self.db.execute("DELETE FROM logs")
            self.db.execute("DELETE FROM meta")

    def sync(
        self,
        session: ChainSession,
        addresses: dict[str, str],
        *,
        from_block: int,
        chunk: int = DEFAULT_RANGE,
        on_range: RangeCallback | None = None,
    ) -> SyncStats:
        """Fetch the logs of blocks not yet in the index (all of them after a reset of the chain)."""
        start, head, rebuilt = self._pending(session, from_block)
        requests = logs = 0
        for raw in self._fetch(session, addresses, start=start, head=head, chunk=chunk, on_range=on_range):
            requests += 1
            logs += len(raw)
        return SyncStats(from_block=start, to_block=head, logs=logs, requests=requests, rebuilt=rebuilt)

    def sync_events(
        self,
        session: ChainSession,
        addresses: dict[str, str],
        names: dict[str, str],
        *,
        from_block: int,
        to_block: int | None = None,
        chunk: int = DEFAULT_RANGE,
        on_range: RangeCallback | None = None,
    ) -> Iterator[LogEvent]:
        """Every event in chain order up to `to_block` (the head when None): those already indexed, read
        from disk, then the new ones as they arrive from the node, each range written to the index before
        its events are handed on. The same events as `sync` then `events`, without reading back what was
        just written."""
        start, head, _rebuilt = self._pending(session, from_block, to_block)
        yield from self.events(names)
        for raw in self._fetch(session, addresses, start=start, head=head, chunk=chunk, on_range=on_range):
            with from_node("the logs of the deployment"):
                for log in raw:
                    event = decode_log(log, names)
                    if event is not None:
                        yield event

    def _pending(self, session: ChainSession, from_block: int, to_block: int | None = None) -> tuple[int, int, bool]:
        """The blocks still to read (first, last: `to_block` or the head) and whether the index was just
        emptied: it is when the chain under it changed (reset or reorganised) or it was written by
        another version."""
        last = self.last_block
        stale = last is not None and self._meta("last_hash") != session.block_hash(last)
        rebuilt = stale or self._meta("schema") not in (None, str(SCHEMA_VERSION))
        if rebuilt:
            self.clear()
        head = session.head() if to_block is None else to_block
        return (from_block if rebuilt or last is None else last + 1), head, rebuilt

    def _fetch(
        self,
        session: ChainSession,
        addresses: dict[str, str],
        *,
        start: int,
        head: int,
        chunk: int,
        on_range: RangeCallback | None,
    ) -> Iterator[list[Any]]:
        """The raw logs of blocks `start` to `head`, range by range, each range indexed before it is
        handed on."""
        wanted: list[str] = [to_checksum_address(a) for a in addresses.values()]
        for position, end, raw in log_ranges(session, wanted, start=start, end=head, chunk=chunk):
            with from_node(f"the logs of blocks {position} to {end}"):
                rows = [_row(log) for log in raw]
            with self._writing():
                self.db.executemany(
                    "INSERT OR REPLACE INTO logs (block, log_index, tx_hash, address, topics, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._set_meta("last_block", str(end))
                self._set_meta("last_hash", session.block_hash(end))
                self._set_meta("schema", str(SCHEMA_VERSION))
            if on_range is not None:
                on_range(end - start + 1, head - start + 1, len(raw))
            yield raw

    def events(self, names: dict[str, str], *, patterns: Sequence[TopicPattern] = ()) -> Iterator[LogEvent]:
        """Every indexed event in chain order, decoded, streamed from disk; given `patterns`
        (`event_pattern`: an event's topic, then some of its indexed arguments), only the events whose
        topics match one of them, chosen before anything is decoded."""
        query = "SELECT block, log_index, tx_hash, address, topics, data FROM logs"
        arguments: list[object] = []
        if patterns:
            query += " WHERE " + " OR ".join(
                "(" + " AND ".join("substr(topics, ?, ?) = ?" for _ in pattern) + ")" for pattern in patterns
            )
            arguments = [
                a for pattern in patterns for offset, value in pattern for a in (offset + 1, len(value), value)
            ]
        cursor = self.db.execute(query + " ORDER BY block, log_index", arguments)
        with from_node("the logs the index holds"):
            for block, log_index, tx_hash, address, topics, data in cursor:
                log = {
                    "blockNumber": block,
                    "logIndex": log_index,
                    "transactionHash": bytes(tx_hash),
                    "address": address,
                    "topics": [bytes(topics[i : i + 32]) for i in range(0, len(topics), 32)],
                    "data": bytes(data),
                }
                event = decode_log(log, names)
                if event is not None:
                    yield event


def _row(log: Any) -> tuple[int, int, bytes, str, bytes, bytes]:
    return (
        as_int(log["blockNumber"]),
        as_int(log["logIndex"]),
        as_bytes(log["transactionHash"]),
        checksum(log["address"]),
        b"".join(as_bytes(t) for t in log["topics"]),
        as_bytes(log["data"]),
    )

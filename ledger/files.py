"""Input and output files of the CLI: each failure becomes a sentence naming the file."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.errors import InputError

#: The columns of a payments file (`ledger settle import`), in the order its reject files write them.
PAYMENT_COLUMNS = ("ref", "contract", "milestone", "period", "amount", "date", "evidence", "kind")
#: The columns every payments file must have.
REQUIRED_PAYMENT_COLUMNS = ("ref", "contract", "amount", "date")


def read_file(path: Path, what: str) -> bytes:
    """The bytes of an input file, or a sentence saying why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no {what} file at {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc.strerror}") from None


def write_file(path: Path, data: bytes, what: str) -> None:
    """Write an output file, or say in a sentence why it cannot be written."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write the {what} file {path}: {exc.strerror}") from None


def read_json_file(path: Path, what: str) -> object:
    try:
        return json.loads(read_file(path, what).decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"the {what} file {path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"the {what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None


@contextmanager
def exclusive(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on the file `path` (made if need be) for the block; yields whether it
    was taken (without `wait`, False when another process holds it). The lock goes with its process,
    however that ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True

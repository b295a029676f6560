"""Input and output files of the CLI: each failure becomes a sentence naming the file."""

from __future__ import annotations

import fcntl
import gc
import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def names_a_file(path: Path) -> bool:
    """Whether a file is there; a name no file can have (too long, a NUL in it) names none."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def document_sha256(path: str | None, what: str, *, base: Path | None = None) -> bytes:
    """SHA-256 of a document that stays off chain (zero when none is given), a path from `base` (else
    from where the command runs). The SHA-256 itself, in hex, may stand for the document, as a payments
    file gives it: a resend from such a file then matches."""
    if not path:
        return b"\0" * 32
    from ledger.chain.encoding import sha256_bytes, sha256_from_hex

    file = (base or Path()) / path
    digest = None if names_a_file(file) else sha256_from_hex(path)
    return digest if digest is not None else sha256_bytes(read_file(file, what))


def write_file(path: Path, data: bytes, what: str) -> None:
    """Write an output file, or say in a sentence why it cannot be written."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write the {what} file {path}: {exc.strerror}") from None


_PARSING = threading.RLock()


@contextmanager
def parser_recursion_limit(levels: int = 1_000) -> Iterator[None]:
    """Run a recursive parser (json, tomllib) with room for `levels` more nested calls than the caller's.

    py_ecc, which eth_account imports, raises the process's recursion limit to 100,000; json's C parser
    recursing that deep into a maliciously nested file overflows the C stack and kills the process.
    Under this limit the parser raises RecursionError instead. The garbage collector waits meanwhile:
    a collection started deep inside the parser would run other objects' finalizers (closing a socket)
    with no room left under the limit. The limit and the collector belong to the whole process, so one
    thread parses at a time (each gives back what it found; json's parser holds the GIL anyway)."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    with _PARSING:
        previous = sys.getrecursionlimit()
        collecting = gc.isenabled()
        gc.disable()
        sys.setrecursionlimit(min(previous, depth + levels))
        try:
            yield
        finally:
            sys.setrecursionlimit(previous)
            if collecting:
                gc.enable()


class JsonProblem(ValueError):
    """Why a text is not JSON the ledger reads; the message follows "the file is"."""


def parse_json(
    text: str,
    *,
    decimals_as_text: bool = False,
    unique_keys: bool = False,
    on_duplicate: Callable[[str], None] | None = None,
) -> Any:
    """JSON as its standard defines it: NaN and Infinity are refused (Python would take them), and so
    is nesting deeper than Python's parser reaches, as a sentence rather than a crash. With
    `decimals_as_text`, a number with a fraction or exponent stays the text it was written as (an
    amount never passes through a float). With `unique_keys` (a person's file: Python would keep
    the last of two values silently), an object naming a key twice is refused; with `on_duplicate`
    instead, the key is told to it and the last value kept."""

    def refuse(constant: str) -> object:
        raise JsonProblem(f"not valid JSON: {constant} is not a JSON number")

    def one_value_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                if on_duplicate is None:
                    raise JsonProblem(f"ambiguous: an object gives the key {key!r} twice")
                on_duplicate(key)
            obj[key] = value
        return obj

    if not text.strip():
        raise JsonProblem("empty: it holds no JSON at all")
    try:
        with parser_recursion_limit():
            return json.loads(
                text,
                parse_constant=refuse,
                parse_float=str if decimals_as_text else float,
                object_pairs_hook=one_value_each if unique_keys or on_duplicate else None,
            )
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise JsonProblem("nested too deeply to read (arrays or objects over a thousand levels deep)") from None


def encoding_hint(data: bytes, *, save_as: str = "UTF-8") -> str:
    """What a file that is not UTF-8 probably is, and how to save it so that it reads: a clause to
    append to the sentence saying it is not UTF-8 (empty when there is no good guess)."""
    save = f"save it as {save_as}"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f'; it is UTF-16 text (Excel\'s "Unicode text"): {save}'
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return ""
    return f"; it reads as GB18030 (GBK), the encoding of files saved on Chinese Windows: {save}"


def read_text_file(path: Path, what: str) -> str:
    """A text input file (UTF-8, with or without a byte-order mark), or a sentence saying why not."""
    data = read_file(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"the {what} file {path} is not UTF-8 text{encoding_hint(data)}") from None


def read_json_file(path: Path, what: str) -> object:
    """A JSON input file (UTF-8, with or without a byte-order mark), or a sentence saying what is wrong."""
    text = read_text_file(path, what)
    try:
        return parse_json(text, unique_keys=True)
    except JsonProblem as exc:
        raise InputError(f"the {what} file {path} is {exc}") from None


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

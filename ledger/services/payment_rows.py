"""A file of payments for the bulk import: CSV or JSON read into rows, every malformed row a `Problem`
with its line; the rows refused written back as a CSV a spreadsheet opens and the import reads again."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.chain.encoding import sha256_from_hex
from ledger.domain.dates import calendar_day, parse_instant
from ledger.domain.ids import check_identifier
from ledger.domain.money import parse_yuan
from ledger.domain.typed import full_width_note
from ledger.domain.types import SettlementKind
from ledger.errors import InputError, LedgerError
from ledger.files import (
    PAYMENT_COLUMNS,
    REQUIRED_PAYMENT_COLUMNS,
    JsonProblem,
    encoding_hint,
    parse_json,
    read_file,
    write_file,
)
from ledger.format import count, spreadsheet_cell, unspreadsheet_cell
from ledger.services.client import SettlementInput
from ledger.services.market_state import settlement_hash

ALIASES = {"reference": "ref", "payment_reference": "ref", "contract_id": "contract"}
#: The columns a reject file adds to the rows it holds (ignored when such a file is imported again).
REJECT_COLUMNS = ("line", "error")
KNOWN_COLUMNS = frozenset(PAYMENT_COLUMNS + REJECT_COLUMNS)


@dataclass(frozen=True)
class Row:
    """A payment as the file states it: its line (a JSON file's item number), the settlement, the cells."""

    line: int
    settlement: SettlementInput
    raw: dict[str, str]

    @property
    def data_hash(self) -> bytes:
        """What the ledger keeps under the row's reference: a resend with the same hash is a replay."""
        return settlement_hash(self.settlement.as_tuple())

    @property
    def slot(self) -> tuple[str, int | str | None]:
        """The milestone or royalty period the row pays."""
        s = self.settlement
        return (s.contract, s.period if s.period is not None else s.milestone)


@dataclass(frozen=True)
class Problem:
    """A row that cannot be sent: its line, what is wrong, and its cells (for the reject file)."""

    line: int
    message: str
    raw: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        """The bad row as a program reads it: its line and what is wrong."""
        return {"line": self.line, "message": self.message}


class ImportRefused(InputError):
    """The file has bad rows; nothing was sent. `problems` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  line {p.line}: {p.message}" for p in problems)
        super().__init__(f"{count(len(problems), 'bad row')}, nothing was sent:\n{lines}")


#: How a workbook file begins: a ZIP archive (.xlsx, .ods, WPS's .et) or an OLE2 compound file (.xls).
_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def read_rows(path: Path) -> tuple[list[Row], list[Problem]]:
    """Parse a CSV or JSON file of payments; every malformed row becomes a `Problem` with its line."""
    data = read_file(path, "payments")
    if data.startswith(_WORKBOOK_SIGNATURES):
        raise InputError(
            f'{path} is a spreadsheet workbook (Excel or WPS), not a CSV or JSON file: save it as "CSV UTF-8" '
            "and import that"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        save_as = "UTF-8" if path.suffix.lower() == ".json" else '"CSV UTF-8"'
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}){encoding_hint(data, save_as=save_as)}") from None
    if path.suffix.lower() == ".json":
        return _json_rows(text, path)
    return _csv_rows(text, path)


def _csv_rows(text: str, path: Path) -> tuple[list[Row], list[Problem]]:
    reader = csv.reader(io.StringIO(text))
    fieldnames = next(reader, None)
    while fieldnames == []:  # blank lines before the header, as csv.DictReader allows
        fieldnames = next(reader, None)
    if fieldnames is None:
        raise InputError(f"{path} is empty; it needs a header line: {','.join(PAYMENT_COLUMNS)}")
    header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in fieldnames]
    missing = [c for c in REQUIRED_PAYMENT_COLUMNS if c not in header]
    if missing and len(fieldnames) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if separator in fieldnames[0]:  # a spreadsheet set to another list separator saved it so
                raise InputError(
                    f'{path}: its columns are separated by {name}, not commas: save it as "CSV UTF-8" '
                    "with commas between the columns"
                )
    if missing:
        raise InputError(f"{path}: the header lacks the column(s) {', '.join(missing)}")
    unknown = [h for h in header if h not in KNOWN_COLUMNS]
    if unknown:  # a misspelt column would otherwise be dropped without a word
        raise InputError(
            f"{path}: the header has column(s) the import does not know: {', '.join(unknown)} "
            f"(it knows {','.join(PAYMENT_COLUMNS)})"
        )
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise InputError(f"{path}: the header names the column(s) {', '.join(twice)} more than once")
    rows: list[Row] = []
    problems: list[Problem] = []
    width = len(header)
    # A reject file (it has their columns) wrote its cells for a spreadsheet: read them back as they were.
    cell = unspreadsheet_cell if REJECT_COLUMNS[1] in header else str
    for record in reader:
        if not any(v.strip() for v in record):
            continue  # a blank line, or a row of empty cells (`,,,,`) as a spreadsheet saves one it formatted
        raw = dict(zip(header, (cell(v.strip()) for v in record), strict=False))  # lengths checked below
        if len(record) < width:
            raw.update((name, "") for name in header[len(record) :])
        elif len(record) > width:
            problems.append(Problem(reader.line_num, "the row has more fields than the header", raw))
            continue
        _parse(raw, reader.line_num, rows, problems)
    return rows, problems


def _json_rows(text: str, path: Path) -> tuple[list[Row], list[Problem]]:
    try:
        data = parse_json(text, decimals_as_text=True, unique_keys=True)
    except JsonProblem as exc:
        raise InputError(f"{path} is {exc}") from None
    items = data.get("settlements") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError(f'{path} must hold a list of payments (or {{"settlements": [...]}})')
    rows: list[Row] = []
    problems: list[Problem] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(number, "a payment must be a JSON object", {}))
            continue
        raw = {
            ALIASES.get(str(k), str(k)): "" if v is None else (v if isinstance(v, str) else json.dumps(v))
            for k, v in item.items()
        }
        unknown = [k for k in raw if k not in KNOWN_COLUMNS]
        if unknown:
            problems.append(Problem(number, f"unknown field(s) {', '.join(unknown)}", raw))
            continue
        _parse(raw, number, rows, problems)
    return rows, problems


def _parse(raw: dict[str, str], line: int, rows: list[Row], problems: list[Problem]) -> None:
    try:
        ref = _identifier_cell(raw.get("ref", ""), "payment reference")
        contract = _identifier_cell(raw.get("contract", ""), "contract id")
        amount = parse_yuan(_filled(raw.get("amount", ""), "amount"), what="amount")
        paid_at = _payment_date(_filled(raw.get("date", ""), "date"))
        milestone = _milestone(raw.get("milestone", ""))
        period = check_identifier(raw["period"], what="royalty period") if raw.get("period") else None
        if period is not None and milestone is not None:
            raise InputError("a payment is for a milestone or a royalty period, not both")
        kind = raw.get("kind", "") or "cash"
        if kind not in ("cash", "equity"):
            raise InputError(f"kind must be cash or equity, not {kind!r}")
        evidence = _evidence(raw.get("evidence", ""))
    except LedgerError as exc:
        problems.append(Problem(line, str(exc), raw))
        return
    settlement = SettlementInput(
        ref=ref,
        contract=contract,
        amount=amount,
        paid_at=paid_at,
        milestone=milestone,
        period=period,
        kind=SettlementKind.EQUITY if kind == "equity" else SettlementKind.CASH,
        evidence_hash=evidence,
    )
    rows.append(Row(line, settlement, raw))


def _filled(text: str, what: str) -> str:
    """A cell that must not be left empty (as the identifiers' own check says of theirs)."""
    if text == "":
        raise InputError(f"the {what} is empty")
    return text


#: A long number as a spreadsheet shows it in a column of general format, and saves it so: 2.02603E+14.
_SHORTENED_NUMBER = re.compile(r"[0-9](\.[0-9]+)?E\+[0-9]+", re.IGNORECASE)


def _identifier_cell(text: str, what: str) -> str:
    """`text` when it is an identifier (`check_identifier`) and not a long number a spreadsheet cut short:
    its other digits are lost, and every reference so cut would read as one and the same."""
    if _SHORTENED_NUMBER.fullmatch(check_identifier(text, what=what)):
        raise InputError(
            f"{what} {text!r} is a number a spreadsheet cut short; format the column as text, "
            "restore its digits and save again"
        )
    return text


#: The year-first date a spreadsheet of Chinese locale writes for a date cell saved as CSV (2026/3/1).
_SPREADSHEET_DATE = re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})")


def _payment_date(text: object) -> int:
    """A date (YYYY-MM-DD, or YYYY/M/D as a spreadsheet writes it) or an ISO-8601 time with offset."""
    found = _SPREADSHEET_DATE.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        return parse_instant(text, what="date")
    return calendar_day(int(found[1]), int(found[2]), int(found[3]), written=found[0], what="date")


#: A milestone index as a file writes it: up to nine ASCII digits.
_INDEX = re.compile(r"[0-9]{1,9}")


def _milestone(text: str) -> int | None:
    if text == "":
        return None
    if not _INDEX.fullmatch(text):  # ASCII digits: str.isdigit also takes "²", which int() refuses
        note = full_width_note(text, reads=_INDEX.fullmatch)
        if note is not None:
            raise InputError(f"milestone {text!r} {note}")
        raise InputError(f"milestone must be a 0-based index, not {text!r}")
    return int(text)


def _evidence(text: str) -> bytes:
    if text == "":
        return b"\0" * 32
    value = sha256_from_hex(text)
    if value is None:
        raise InputError("evidence must be the SHA-256 of the evidence document (64 hexadecimal digits)")
    return value


def write_rejects(path: Path, problems: list[Problem]) -> None:
    """The bad rows with their line and problem, as CSV; written before anything is sent. A cell that a
    spreadsheet would run as a formula gets an apostrophe, which the import takes off again."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow([*PAYMENT_COLUMNS, *REJECT_COLUMNS])
    for p in problems:
        writer.writerow(
            [spreadsheet_cell(p.raw.get(c, "")) for c in PAYMENT_COLUMNS] + [p.line, spreadsheet_cell(p.message)]
        )
    # A byte-order mark tells Excel and WPS the file is UTF-8; the import reads it back the same way.
    write_file(path, text.getvalue().encode("utf-8-sig"), "rejected rows")

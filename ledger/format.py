"""Text output for people: aligned tables that keep Chinese names straight."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from ledger.domain.money import group_thousands
from ledger.errors import with_differences


def shown(text: str) -> str:
    """Free text from the chain (a redemption's purpose, written by whoever redeemed), safe to print:
    a character that does not print (an escape sequence for the terminal, a line break) is shown
    escaped, never sent to the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


#: What a spreadsheet reads as the start of a formula (or, for tab and carriage return, a new cell).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> str:
    """A text cell of a CSV file meant for Excel or WPS: one that a spreadsheet would run as a formula
    (`=HYPERLINK(...)` in a purpose) is prefixed with an apostrophe, which shows it as the text it is."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def unspreadsheet_cell(text: str) -> str:
    """A cell `spreadsheet_cell` wrote, as it was before its apostrophe."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


def labelled(name: str, address: str) -> str:
    """How output names an account: "name (address)", or the address alone when `name` is the address
    (an account without a name in the workspace)."""
    return address if name == address else f"{name} ({address})"


def width(text: str) -> int:
    """Columns a string takes in a terminal (wide CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, *, right: bool = False) -> str:
    gap = " " * max(0, size - width(text))
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[int] = ()) -> str:
    """`rows` under `headers` in aligned columns (wide characters counted as two), the `numeric` columns
    right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    sizes = [width(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            sizes[i] = max(sizes[i], width(cell))
    lines = ["  ".join(pad(h, sizes[i], right=i in numeric) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * s for s in sizes))
    for row in cells:
        lines.append("  ".join(pad(c, sizes[i], right=i in numeric) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines)


def money(text: str) -> str:
    return group_thousands(text)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 row", "3 rows", "2 batches": a number with its noun (plural: an added s unless given)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {plural or noun + 's'}"


def differences(fields: Sequence[tuple[str, str, str]]) -> list[str]:
    """Of (label, value here, value recorded) triples, those that differ, each as a person reads it:
    "amount 1.00 yuan here, 2.00 yuan recorded" (why a resend conflicts with what is recorded)."""
    return [f"{label} {here} here, {there} recorded" for label, here, there in fields if here != there]


def run_summary(result: Any) -> str:
    """The readable summary of a scenario run (members' points by rule, contracts with their milestones
    by title, refusals), named as the run's scenario names them."""
    scenario = result.scenario
    out: list[str] = []
    out.append("Points by member (centipoint-exact, in points)")
    rows = []
    for member_id, m in result.members.items():
        label = shown(f"{member_id} {scenario.member_index[member_id].name}".strip())  # the file's text
        rules = ", ".join(f"{rule} {money(v)}" for rule, v in m["by_rule"].items()) or "-"
        rows.append([label, money(m["issued"]), money(m["redeemed"]), money(m["points"]), rules])
    out.append(
        table(["member", "issued", "redeemed", "balance", "by rule"], rows, numeric=(1, 2, 3))
        if rows
        else "the scenario declares no members"
    )
    out.append("")
    out.append("Contracts (yuan)")
    rows = []
    for contract_id, c in result.contracts.items():
        stages = "; ".join(
            f"{shown(title)}: {s['status']} {money(s['paid'])}/{money(s['due'])}"
            for title, s in zip(
                (m.title for m in scenario.contract_index[contract_id].milestones), c["milestones"], strict=True
            )
        )
        rows.append([contract_id, money(c["received"]), money(c["outstanding"]), stages])
    out.append(
        table(["contract", "received", "outstanding", "milestones (title: status paid/due)"], rows, numeric=(1, 2))
        if rows
        else "the scenario declares no contracts"
    )
    if result.replayed:
        out.append("")
        events = "event" if len(result.replayed) == 1 else "events"
        out.append(f"Replayed (already recorded, nothing changed): {events} " + ", ".join(map(str, result.replayed)))
    if result.rejected or result.unregistered:
        out.append("")
        out.append("Refused (nothing changed):")
        out += [f"  contract {c.contract} not registered: {c.error}: {shown(c.message)}" for c in result.unregistered]
        out += [
            f"  event {r.event}: {r.error}: {shown(with_differences(r.message, r.differences))}"
            for r in result.rejected
        ]
    out.append("")
    v = result.verification
    if v.ok and not v.expected:
        out.append("Verified: no award is due under the policy for what was recorded, and the chain issued none.")
    elif v.ok:
        awards = "the 1 award" if len(v.expected) == 1 else f"all {len(v.expected):,} awards"
        agree = "matches" if len(v.expected) == 1 else "match"
        out.append(
            f"Verified: {awards}, recomputed independently from the recorded settlements, "
            f"attestations and policy, {agree} the chain."
        )
    else:
        out.append(f"VERIFICATION FAILED: {count(len(v.discrepancies), 'discrepancy', 'discrepancies')}")
        for d in v.discrepancies:
            out.append(f"  [{d.check}] {d.message}")
    return "\n".join(out)


def reported_periods(periods: Iterable[str]) -> str:
    """What to add when a payment names a royalty period with no revenue reported: the periods that
    have one (a period spelt `2026-Q2` where `2026Q2` was reported), or how to report one."""
    known = sorted(periods)
    if not known:
        return " (none is reported yet: `ledger royalty report` first)"
    return f" (reported: {', '.join(known)})"


def near_misses(wanted: str, known: Iterable[str]) -> str:
    """What to add when an id is unknown: the known ids spelt most like it (`TC1` or `tc-1` for `TC-1`),
    if any; ids are compared without regard to case, as a person retyping one does not see it."""
    import difflib

    by_folded: dict[str, list[str]] = {}
    for k in known:
        by_folded.setdefault(k.casefold(), []).append(k)
    close = difflib.get_close_matches(wanted.casefold(), list(by_folded), n=3, cutoff=0.6)
    spelt = [k for folded in close for k in by_folded[folded] if k != wanted]
    return f" (did you mean {' or '.join(spelt)}?)" if spelt else ""

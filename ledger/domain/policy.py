"""The points policy as data: the rule definitions, a policy file, and the history of versions."""

from __future__ import annotations

import datetime
import hashlib
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ledger.domain.dates import end_of_day, parse_date
from ledger.domain.money import Centipoints, Fen, parse_points, parse_yuan
from ledger.errors import AmountError, DateError, PolicyFileError
from ledger.files import parser_recursion_limit

#: Every rule the contracts implement, with its eligibility as the policy files must state it.
#: The eligibility logic itself is code (Solidity and `ledger.domain.engine`); the file must
#: describe it truthfully, and loading a file that says otherwise is refused.
RULE_DEFINITIONS: dict[str, dict[str, Any]] = {
    "R11-LANDING": {
        "clause": 11,
        "kind": "rate",
        "recipient": "seller",
        "basis": "contract",
        "eligibility": {
            "contract_kinds": ["transfer", "license", "equity"],
            "seller_kinds": ["university", "institute"],
            "buyer_in_region": True,
        },
    },
    "R15-USER": {
        "clause": 15,
        "kind": "rate",
        "recipient": "buyer",
        "basis": "member_year",
        "eligibility": {"contract_kinds": ["service"], "instrument_min_value": "100000.00"},
    },
    "R15-PROVIDER": {
        "clause": 15,
        "kind": "rate",
        "recipient": "seller",
        "basis": "member_year",
        "eligibility": {"contract_kinds": ["service"], "instrument_min_value": "100000.00"},
    },
    "R3-LICENSOR": {
        "clause": 3,
        "kind": "rate",
        "recipient": "seller",
        "basis": "contract",
        "eligibility": {"contract_kinds": ["license"], "plans": ["zero_upfront_staged_royalty", "deferred"]},
    },
    "R3-LICENSEE": {
        "clause": 3,
        "kind": "rate",
        "recipient": "buyer",
        "basis": "contract",
        "eligibility": {"contract_kinds": ["license"], "plans": ["zero_upfront_staged_royalty", "deferred"]},
    },
    "R11-SME": {
        "clause": 11,
        "kind": "fixed",
        "recipient": "member",
        "basis": "once_per_member",
        "eligibility": {"member_kinds": ["enterprise"], "attestation": "sme_revenue"},
    },
    "R6-TALENT": {
        "clause": 6,
        "kind": "fixed",
        "recipient": "member",
        "basis": "once_per_member_title",
        "eligibility": {"attestation": "talent_appointment", "titles": ["tech_vice_president", "industry_professor"]},
    },
    "R16-BROKER": {
        "clause": 16,
        "kind": "rate",
        "recipient": "broker",
        "basis": "contract",
        "eligibility": {"broker_recorded": True},
    },
}

RULE_IDS = tuple(RULE_DEFINITIONS)
BPS_DENOMINATOR = 10_000


@dataclass(frozen=True)
class RuleParams:
    """The numbers of one rule in one version. Dates are unix seconds, both window ends inclusive."""

    rate_bps: int
    amount: Centipoints
    threshold: Fen
    window_start: int
    window_end: int
    effective_from: int
    version: int = 0

    def in_window(self, date: int) -> bool:
        return self.window_start <= date <= self.window_end

    def differences(
        self, other: RuleParams | None, *, effective_from: bool = True
    ) -> list[tuple[str, int, int | None]]:
        """(field, this value, the other's value) for every number in which `other` differs (all when it is
        None). The version number is never compared; the date a version is in force from is, unless
        `effective_from` is False."""
        fields: tuple[str, ...] = ("rate_bps", "amount", "threshold", "window_start", "window_end")
        fields += ("effective_from",) if effective_from else ()
        mine = [(name, getattr(self, name), getattr(other, name) if other else None) for name in fields]
        return [(name, want, got) for name, want, got in mine if want != got]


@dataclass(frozen=True)
class RuleSpec:
    """One rule as written in a policy file."""

    id: str
    clause: int
    title: str
    kind: str
    recipient: str
    basis: str
    eligibility: dict[str, Any]
    source: str
    params: RuleParams


@dataclass(frozen=True)
class PolicyDocument:
    """A policy file read and checked: its id, title, the SHA-256 of its bytes, and its rules."""

    id: str
    title: str
    sha256: str
    rules: tuple[RuleSpec, ...]

    def rule(self, rule_id: str) -> RuleSpec:
        for spec in self.rules:
            if spec.id == rule_id:
                return spec
        raise KeyError(rule_id)


BUNDLED_POLICY = Path(__file__).resolve().parents[2] / "policy" / "mkj-2026.toml"


def bundled_policy_path() -> Path:
    """The policy file shipped with the package (repository copy, or the installed copy)."""
    if BUNDLED_POLICY.exists():
        return BUNDLED_POLICY
    return Path(__file__).resolve().parent.parent / "data" / "policy" / "mkj-2026.toml"


def repository_policies() -> list[PolicyDocument]:
    """Every published policy file of the repository (policy/*.toml), oldest name first."""
    folder = bundled_policy_path().parent
    return [load_policy(path) for path in sorted(folder.glob("*.toml"))]


def load_policy(path: Path | None = None) -> PolicyDocument:
    """Read and check a policy file; `PolicyFileError` says what is wrong and where."""
    path = path or bundled_policy_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyFileError(f"cannot read policy file {path}: {exc.strerror}") from exc
    try:
        with parser_recursion_limit():
            data = tomllib.loads(raw.decode("utf-8-sig"))  # past an editor's byte-order mark; hashed as it is
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyFileError(f"policy file {path} is not valid TOML: {exc}") from exc
    except RecursionError:
        raise PolicyFileError(f"policy file {path} is nested too deeply to read") from None
    return parse_policy(data, sha256=hashlib.sha256(raw).hexdigest(), where=str(path))


def _policy_date(data: dict[str, Any], key: str) -> int:
    """One of the policy's dates: quoted ("2026-01-15"), or a TOML date written without quotes."""
    value = data[key]
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = value.isoformat()
    return parse_date(value, what=key)


#: The keys of a policy file, and of each of its [[rule]] tables.
POLICY_KEYS = ("id", "title", "document", "effective_from", "window_start", "window_end", "timezone", "rule")
RULE_KEYS = (
    "id",
    "clause",
    "title",
    "kind",
    "rate_bps",
    "amount",
    "threshold",
    "recipient",
    "basis",
    "eligibility",
    "source",
)


#: The key a kind of rule never reads: a rate rule pays no fixed amount, a fixed-award rule has no rate.
UNREAD_KEY = {"rate": "amount", "fixed": "rate_bps"}


def parse_policy(data: dict[str, Any], *, sha256: str, where: str = "policy") -> PolicyDocument:
    """The policy in `data` (a parsed TOML file whose bytes hash to `sha256`), every rule checked; a
    `PolicyFileError` names what is wrong and where (`where` names the file)."""
    unknown = [key for key in data if key not in POLICY_KEYS]
    if unknown:  # a misspelt key would otherwise be read as absent, on chain for good
        raise PolicyFileError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; a policy has {', '.join(POLICY_KEYS)}"
        )
    missing_dates = [key for key in ("effective_from", "window_start", "window_end") if key not in data]
    if missing_dates:
        raise PolicyFileError(f"{where}: the policy needs {' and '.join(missing_dates)} (a date, YYYY-MM-DD)")
    entries = data.get("rule", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise PolicyFileError(f"{where}: the rules must be [[rule]] tables")
    try:
        effective_from = _policy_date(data, "effective_from")
        window_start = _policy_date(data, "window_start")
        window_end = end_of_day(_policy_date(data, "window_end"))
    except DateError as exc:
        raise PolicyFileError(f"{where}: {exc}") from exc
    if window_end < window_start:
        raise PolicyFileError(f"{where}: window_end is before window_start")
    rules: list[RuleSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        at = f"{where}: rule {index + 1}"
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or rule_id not in RULE_DEFINITIONS:
            raise PolicyFileError(f"{at}: unknown rule id {rule_id!r}; known: {', '.join(RULE_IDS)}")
        if rule_id in seen:
            raise PolicyFileError(f"{at}: rule {rule_id} appears twice")
        seen.add(rule_id)
        definition = RULE_DEFINITIONS[rule_id]
        unknown = [key for key in entry if key not in RULE_KEYS]
        if unknown:  # `rate_bp = 2000` would otherwise publish a rate of 0 that no version can take back
            raise PolicyFileError(
                f"{at} ({rule_id}): unknown key(s) {', '.join(map(repr, unknown))}; a rule has {', '.join(RULE_KEYS)}"
            )
        needed = ("rate_bps" if definition["kind"] == "rate" else "amount", "threshold")
        missing_keys = [key for key in needed if key not in entry]
        if missing_keys:
            raise PolicyFileError(f"{at} ({rule_id}): a {definition['kind']} rule needs {' and '.join(missing_keys)}")
        for key in ("clause", "kind", "recipient", "basis", "eligibility"):
            if entry.get(key) != definition[key]:
                raise PolicyFileError(
                    f"{at} ({rule_id}): {key} is {entry.get(key)!r}, but the ledger implements {definition[key]!r}"
                )
        if entry.get("source") not in ("document", "illustrative"):
            raise PolicyFileError(f'{at} ({rule_id}): source must be "document" or "illustrative"')
        rate = entry.get("rate_bps", 0)
        if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= BPS_DENOMINATOR:
            raise PolicyFileError(f"{at} ({rule_id}): rate_bps must be a whole number from 0 to 10000")
        if UNREAD_KEY[definition["kind"]] in entry:
            has_none = (
                "a rate rule has no fixed amount" if definition["kind"] == "rate" else "a fixed-award rule has no rate"
            )
            raise PolicyFileError(f"{at} ({rule_id}): {has_none}")
        try:
            amount = parse_points(entry.get("amount", "0.00"), what="amount")
            threshold = parse_yuan(entry["threshold"], what="threshold")  # every rule gives one (checked above)
        except AmountError as exc:
            raise PolicyFileError(f"{at} ({rule_id}): {exc}") from exc
        params = RuleParams(
            rate_bps=rate,
            amount=amount,
            threshold=threshold,
            window_start=window_start,
            window_end=window_end,
            effective_from=effective_from,
        )
        rules.append(
            RuleSpec(
                id=rule_id,
                clause=definition["clause"],
                title=str(entry.get("title", rule_id)),
                kind=definition["kind"],
                recipient=definition["recipient"],
                basis=definition["basis"],
                eligibility=definition["eligibility"],
                source=entry["source"],
                params=params,
            )
        )
    missing = [rule_id for rule_id in RULE_IDS if rule_id not in seen]
    if missing:
        raise PolicyFileError(f"{where}: the policy has no rule {', '.join(missing)}")
    return PolicyDocument(
        id=str(data.get("id", "")), title=str(data.get("title", "")), sha256=sha256, rules=tuple(rules)
    )


@dataclass
class PolicyHistory:
    """Published versions rule by rule; the version in force for a date is the latest that covers it."""

    _versions: dict[str, list[RuleParams]] = field(default_factory=dict)

    def publish(self, rule_id: str, params: RuleParams) -> None:
        self._versions.setdefault(rule_id, []).append(params)

    def rule_at(self, rule_id: str, date: int) -> RuleParams | None:
        for params in reversed(self._versions.get(rule_id, [])):
            if params.effective_from <= date:
                return params
        return None

    def latest(self, rule_id: str) -> RuleParams | None:
        versions = self._versions.get(rule_id)
        return versions[-1] if versions else None

    def versions(self, rule_id: str) -> list[RuleParams]:
        return list(self._versions.get(rule_id, []))


def amended(
    previous: RuleParams,
    *,
    effective_from: int,
    rate_bps: int | None = None,
    amount: Centipoints | None = None,
    threshold: Fen | None = None,
) -> RuleParams:
    """A new version of a rule: the previous numbers with the given ones changed, from `effective_from`."""
    return replace(
        previous,
        rate_bps=previous.rate_bps if rate_bps is None else rate_bps,
        amount=previous.amount if amount is None else amount,
        threshold=previous.threshold if threshold is None else threshold,
        effective_from=effective_from,
        version=0,
    )


def amendment_description(rule_id: str, params: RuleParams) -> str:
    """The canonical text of a one-rule amendment; its hash is the version's source hash."""
    import json

    return json.dumps(
        {
            "rule": rule_id,
            "effective_from": params.effective_from,
            "rate_bps": params.rate_bps,
            "amount": params.amount,
            "threshold": params.threshold,
            "window_start": params.window_start,
            "window_end": params.window_end,
        },
        sort_keys=True,
    )

"""Test helpers: replay a scenario through the pure-Python engine alone (no chain); run a developer
script of `scripts/` as a developer would."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from ledger.domain.engine import AwardEngine
from ledger.domain.money import format_points
from ledger.domain.policy import amended, load_policy
from ledger.domain.scenario import parse_scenario


def engine_points(document: dict[str, Any], *, skip: set[int] = frozenset()) -> dict[str, dict[str, str]]:
    """Points per member and rule that the engine awards for a scenario, skipping refused events."""
    scenario = parse_scenario(document)
    policy = load_policy(scenario.policy_path)
    engine = AwardEngine()
    version = 1
    for spec in policy.rules:
        engine.publish(spec.id, replace(spec.params, version=version))
    for member in scenario.members:
        engine.enrol(member.id, kind=member.kind, in_region=member.in_region)
    for contract in scenario.contracts:
        engine.register_contract(
            contract.id,
            kind=contract.kind,
            plan=contract.plan,
            seller=contract.seller,
            buyer=contract.buyer,
            broker=contract.broker,
        )
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in scenario.events:
        if event.index in skip:
            continue
        awards = []
        if event.type in ("payment", "equity", "royalty_payment"):
            awards = engine.settle(
                ref=event.ref or "", contract_id=event.contract or "", amount=event.amount or 0, paid_at=event.at
            )  # type: ignore[arg-type]
        elif event.type == "sme_revenue":
            awards = engine.attest_startup_revenue(
                attestation_id=f"a{event.index}", member=event.member or "", revenue=event.amount or 0, at=event.at
            )  # type: ignore[arg-type]
        elif event.type == "talent_appointment":
            assert event.title is not None
            awards = engine.attest_appointment(
                attestation_id=f"a{event.index}", member=event.member or "", title=event.title, at=event.at
            )
        elif event.type == "suspend":
            engine.suspend(event.member or "")
        elif event.type == "reinstate":
            engine.reinstate(event.member or "")
        elif event.type == "policy_version":
            assert event.rule is not None
            previous = engine.policy.latest(event.rule)
            assert previous is not None
            version += 1
            params = amended(
                previous,
                effective_from=event.at,
                rate_bps=event.rate_bps,
                amount=event.fixed_amount,
                threshold=event.threshold,
            )
            engine.publish(event.rule, replace(params, version=version))
        for award in awards:
            totals[award.member][award.rule_id] += award.amount
    return {
        member: {rule: format_points(v) for rule, v in sorted(rules.items()) if v}
        for member, rules in totals.items()
        if any(rules.values())
    }


ROOT = Path(__file__).resolve().parents[1]


def run_script(
    name: str, *args: str, python: Path | str = sys.executable, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`scripts/NAME ARGS...` run from the repository's root by `python`, its output captured as text."""
    command = [str(python), str(ROOT / "scripts" / name), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)

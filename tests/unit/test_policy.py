from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.domain.dates import parse_date, parse_instant
from ledger.domain.policy import RULE_IDS, PolicyHistory, amended, load_policy
from ledger.errors import PolicyFileError

POLICY = Path(__file__).resolve().parents[2] / "policy" / "mkj-2026.toml"


def test_bundled_policy_has_every_rule_with_the_document_rates() -> None:
    doc = load_policy(POLICY)
    assert [r.id for r in doc.rules] == list(RULE_IDS)
    assert doc.rule("R11-LANDING").params.rate_bps == 2000
    assert doc.rule("R11-LANDING").params.threshold == 200_000_000
    assert doc.rule("R15-USER").params.rate_bps == 1000
    assert doc.rule("R15-PROVIDER").params.rate_bps == 500
    assert doc.rule("R11-SME").params.amount == 1_000_000
    assert doc.rule("R11-SME").params.threshold == 20_000_000
    assert doc.rule("R6-TALENT").params.amount == 500_000
    assert {r.id for r in doc.rules if r.source == "document"} == {"R11-LANDING", "R15-USER", "R15-PROVIDER"}


def test_window_is_inclusive_in_beijing_time() -> None:
    params = load_policy(POLICY).rule("R11-LANDING").params
    assert params.window_start == parse_date("2026-01-15")
    assert params.in_window(parse_instant("2028-12-31T23:59:59+08:00"))
    assert not params.in_window(parse_instant("2029-01-01T00:00:00+08:00"))
    assert not params.in_window(parse_instant("2026-01-14T23:59:59+08:00"))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_policy_that_misstates_eligibility_is_refused(tmp_path: Path) -> None:
    text = POLICY.read_text(encoding="utf-8").replace(
        'seller_kinds = ["university", "institute"]', 'seller_kinds = ["enterprise"]'
    )
    with pytest.raises(PolicyFileError, match="eligibility"):
        load_policy(_write(tmp_path, text))


def test_policy_missing_a_rule_is_refused(tmp_path: Path) -> None:
    text = POLICY.read_text(encoding="utf-8")
    text = text[: text.index('[[rule]]\nid = "R16-BROKER"')]
    with pytest.raises(PolicyFileError, match="R16-BROKER"):
        load_policy(_write(tmp_path, text))


def test_policy_with_rate_above_hundred_percent_is_refused(tmp_path: Path) -> None:
    text = POLICY.read_text(encoding="utf-8").replace("rate_bps = 2000", "rate_bps = 20000")
    with pytest.raises(PolicyFileError, match="rate_bps"):
        load_policy(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        # a misspelt key would be read as absent: a rate of 0, or no threshold, on chain for good
        (
            "rate_bps = 2000",
            "rate_bp = 2000",
            r"rule 1 \(R11-LANDING\): unknown key\(s\) 'rate_bp'; a rule has id, clause",
        ),
        (
            'threshold = "2000000.00"',
            'threshhold = "2000000.00"',
            r"rule 1 \(R11-LANDING\): unknown key\(s\) 'threshhold'",
        ),
        (
            'window_end = "2028-12-31"',
            'window_end = "2028-12-31"\nwindow_ends = "2027-12-31"',
            "unknown key\\(s\\) 'window_ends'",
        ),
        ("rate_bps = 2000\n", "", r"rule 1 \(R11-LANDING\): a rate rule needs rate_bps$"),
        ('amount = "10000.00"\n', "", r"rule 6 \(R11-SME\): a fixed rule needs amount$"),
        ('threshold = "2000000.00"\n', "", r"rule 1 \(R11-LANDING\): a rate rule needs threshold$"),
        # a key its kind of rule never reads would be published to no effect
        (
            "rate_bps = 2000\n",
            'rate_bps = 2000\namount = "5.00"\n',
            r"\(R11-LANDING\): a rate rule has no fixed amount$",
        ),
        (
            'amount = "10000.00"\n',
            'amount = "10000.00"\nrate_bps = 100\n',
            r"\(R11-SME\): a fixed-award rule has no rate$",
        ),
    ],
)
def test_a_rule_key_misspelt_left_out_or_unread_is_refused(tmp_path: Path, old: str, new: str, says: str) -> None:
    text = POLICY.read_text(encoding="utf-8")
    assert text.count(old) == 1
    with pytest.raises(PolicyFileError, match=says):
        load_policy(_write(tmp_path, text.replace(old, new)))


def test_broken_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="not valid TOML"):
        load_policy(_write(tmp_path, "id = "))


HEAD = 'id = "x"\neffective_from = "2026-01-15"\nwindow_start = "2026-01-15"\nwindow_end = "2028-12-31"\n'


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('id = "x"\nwindow_start = "2026-01-15"\n', r"the policy needs effective_from and window_end \(a date"),
        (HEAD + "rule = 5\n", "the rules must be \\[\\[rule\\]\\] tables"),
        (HEAD + "rule = [1, 2]\n", "the rules must be"),
        (HEAD + "rule = [{id = []}]\n", "rule 1: unknown rule id \\[\\]"),
        (HEAD.replace('"2026-01-15"', "2026-01-15T08:00:00", 1), "effective_from datetime"),
    ],
)
def test_a_policy_file_of_the_wrong_shape_is_refused_in_a_sentence(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(PolicyFileError, match=says):
        load_policy(_write(tmp_path, text))


def test_policy_dates_may_be_toml_dates_without_quotes(tmp_path: Path) -> None:
    quoted = POLICY.read_text(encoding="utf-8")
    text = re.sub(r'^(effective_from|window_start|window_end) = "([0-9-]+)"$', r"\1 = \2", quoted, flags=re.M)
    assert text.count(" = 2026-01-15\n") == 2 and "window_end = 2028-12-31\n" in text
    assert load_policy(_write(tmp_path, text)).rules == load_policy(POLICY).rules


def test_a_policy_saved_with_a_byte_order_mark_reads_the_same_and_hashes_as_saved(tmp_path: Path) -> None:
    """An editor on Windows may put a byte-order mark first: TOML does not allow it, the ledger reads past
    it; the version's hash stays that of the file's bytes, so the verifier compares the file as saved."""
    path = tmp_path / "policy.toml"
    path.write_bytes(b"\xef\xbb\xbf" + POLICY.read_bytes())
    policy = load_policy(path)
    assert policy.rules == load_policy(POLICY).rules
    assert policy.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != load_policy(POLICY).sha256


def test_history_picks_the_version_in_force_on_the_date() -> None:
    base = load_policy(POLICY).rule("R15-USER").params
    history = PolicyHistory()
    history.publish("R15-USER", base)
    later = amended(base, effective_from=parse_date("2027-01-01"), rate_bps=1200)
    history.publish("R15-USER", later)
    assert history.rule_at("R15-USER", parse_date("2026-12-31")) == base
    assert history.rule_at("R15-USER", parse_date("2027-01-01")).rate_bps == 1200  # type: ignore[union-attr]
    assert history.rule_at("R15-USER", parse_date("2026-01-01")) is None


def test_rule_differences_name_each_changed_number() -> None:
    params = load_policy().rule("R11-LANDING").params
    later = replace(params, rate_bps=2500, effective_from=params.effective_from + 86_400, version=2)
    assert params.differences(replace(params, version=7)) == []
    assert params.differences(later) == [
        ("rate_bps", 2000, 2500),
        ("effective_from", params.effective_from, later.effective_from),
    ]
    assert params.differences(later, effective_from=False) == [("rate_bps", 2000, 2500)]
    assert [name for name, _, got in params.differences(None) if got is None] == [
        "rate_bps",
        "amount",
        "threshold",
        "window_start",
        "window_end",
        "effective_from",
    ]


def test_an_installed_package_ships_the_policy_files_it_falls_back_on() -> None:
    """Outside the repository (a wheel installed elsewhere) the bundled policy is the package's copy,
    `ledger/data/policy`, a link to `policy/` that the package data takes in."""
    import fnmatch
    import tomllib

    import ledger
    from ledger.domain import policy

    package = Path(ledger.__file__).resolve().parent
    repository = package.parent / "policy"
    shipped = package / "data" / "policy"
    assert sorted(p.name for p in shipped.glob("*.toml")) == sorted(p.name for p in repository.glob("*.toml"))
    for path in shipped.glob("*.toml"):
        assert path.read_bytes() == (repository / path.name).read_bytes()
    patterns = tomllib.loads((package.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["ledger"]
    assert any(fnmatch.fnmatch("data/policy/mkj-2026.toml", pattern) for pattern in patterns)
    fallback = Path(policy.__file__).resolve().parent.parent / "data" / "policy" / "mkj-2026.toml"
    assert fallback.is_file() and load_policy(fallback) == load_policy()

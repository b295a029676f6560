"""From `ledger ca init` to an enrolled member, sealed terms opened by each party, the Besu allowlist."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.identity import ca, terms
from tests.cli.conftest import Run, make_runner, market_on_node
from tests.nodes import needs_anvil

pytestmark = needs_anvil


@dataclass
class Office:
    ledger: Run
    folder: Path


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    folder = tmp_path_factory.mktemp("office")
    with market_on_node(folder) as (ledger, _port):
        yield Office(ledger, folder)


def test_certified_enrolment_from_ca_init(office: Office) -> None:
    ledger = office.ledger
    home = office.folder / "home"
    early = ledger("ca", "issue", "imu", "--uscc", "121500004600012340")
    assert early.returncode == 1 and "no certificate authority" in early.stderr
    uncertified = ledger("member", "enrol", "imu", "--kind", "university", "--uscc", "121500004600012340")
    assert uncertified.returncode == 1, uncertified.stdout
    assert "checked against the platform's root certificate, and this workspace has none" in uncertified.stderr
    init = ledger("ca", "init")
    assert init.returncode == 0, init.stderr
    mistyped = ledger("ca", "issue", "imu", "--uscc", "121500004600012340", env={"LEDGER_PASSPHRASE": "not the one"})
    assert mistyped.returncode == 1 and "the passphrase does not open the key" in mistyped.stderr
    # no refusal left a key for imu behind (a second issue would then be refused for it)
    assert not (home / "identity" / "imu-key.pem").exists() and not (home / "keys" / "imu.json").exists()
    for name, uscc, display in (("imu", "121500004600012340", "内蒙古大学"), ("steel", "91150200114123456M", "包钢")):
        issued = ledger("ca", "issue", name, "--uscc", uscc, "--display-name", display, "--json")
        assert issued.returncode == 0, issued.stderr
    # once a CA exists, enrolment without a certificate is refused
    bare = ledger("member", "enrol", "nobody", "--kind", "enterprise", "--uscc", "91110000802100433B")
    assert bare.returncode == 1 and "needs its certificate" in bare.stderr
    enrol = ledger(
        "member", "enrol", "imu", "--kind", "university", "--uscc", "121500004600012340", "--in-region", "--json"
    )
    assert enrol.returncode == 0, enrol.stderr
    cert = ca.load_cert(office.folder / "home" / "certs" / "imu.pem")
    assert json.loads(enrol.stdout)["cert_fingerprint"] == "0x" + ca.fingerprint(cert).hex()
    wrong_code = ledger("member", "enrol", "steel", "--kind", "enterprise", "--uscc", "91110000802100433B")
    assert wrong_code.returncode == 1 and "carries credit code 91150200114123456M" in wrong_code.stderr
    assert (
        ledger(
            "member", "enrol", "steel", "--kind", "enterprise", "--uscc", "91150200114123456M", "--in-region"
        ).returncode
        == 0
    )


def test_revoked_certificate_cannot_enrol(office: Office) -> None:
    ledger = office.ledger
    assert ledger("ca", "issue", "rogue", "--uscc", "91110000802100433B").returncode == 0
    revoked = ledger("ca", "revoke", "rogue")
    assert revoked.returncode == 0 and "`ledger member suspend rogue`" in revoked.stdout
    refused = ledger("member", "enrol", "rogue", "--kind", "enterprise", "--uscc", "91110000802100433B")
    assert refused.returncode == 1 and "has been revoked" in refused.stderr
    # the authority's register, read without its key: each certificate in force, expired or revoked
    listed = {c["name"]: c for c in json.loads(ledger("ca", "list", "--json").stdout)}
    rogue = ca.load_cert(office.folder / "home" / "certs" / "rogue.pem")
    assert listed["rogue"]["status"] == "revoked" and listed["rogue"]["serial"] == format(rogue.serial_number, "x")
    assert listed["内蒙古大学"]["status"] == "in force"
    imu = ca.load_cert(office.folder / "home" / "certs" / "imu.pem")
    assert listed["内蒙古大学"]["expires"] == f"{imu.not_valid_after_utc:%Y-%m-%d}"
    table = ledger("ca", "list", env={"LEDGER_PASSPHRASE": ""}).stdout.splitlines()
    assert table[0].split() == ["serial", "name", "account", "expires", "status"]
    assert any(line.split()[0] == format(rogue.serial_number, "x") and line.endswith("revoked") for line in table)


def test_a_refused_enrolment_leaves_the_name_book_as_it_was(office: Office) -> None:
    """A name enters the book with its account only once the member is enrolled: after a refusal, the
    same name can still be enrolled at another account."""
    names = office.folder / "home" / "names.json"
    before = names.read_bytes()
    stranger = "0x" + "5a" * 20
    imu_cert = str(office.folder / "home" / "certs" / "imu.pem")
    wrong = ("member", "enrol", "newcomer", "--kind", "university", "--uscc", "121500004600012340")
    refused = office.ledger(*wrong, "--cert", imu_cert, "--address", stranger, "--proof", "0x" + "00" * 65)
    assert refused.returncode == 1, refused.stdout
    assert "is bound to address" in refused.stderr and "newcomer" not in names.read_text(encoding="utf-8")
    assert names.read_bytes() == before


def test_enrolment_signed_with_the_regulators_keystore_proves_with_the_members_own_key(office: Office) -> None:
    """--keystore names the key that signs the enrolment (the regulator's); the proof of possession
    is the member's, signed with the member's key in the workspace."""
    home = office.folder / "home"
    uscc = "91110000802100433B"
    assert office.ledger("ca", "issue", "kiln", "--uscc", uscc).returncode == 0
    regulator = str(home / "keys" / "regulator.json")
    enrolled = office.ledger(
        "member", "enrol", "kiln", "--kind", "enterprise", "--uscc", uscc, "--keystore", regulator, "--json"
    )
    assert enrolled.returncode == 0, enrolled.stderr
    names = json.loads((home / "names.json").read_text(encoding="utf-8"))
    assert json.loads(enrolled.stdout)["address"] == names["kiln"] != names["regulator"]


def test_a_member_whose_keys_stay_on_its_own_machine_is_enrolled_with_its_proof(office: Office) -> None:
    """The member keeps its account key and identity key; the office certifies the public key for the
    account, and enrols the account the certificate binds once the member's signature proves it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    machine = office.folder / "member-machine"
    machine.mkdir()
    member = make_runner(machine)
    made = member("key", "new", "far", "--json")
    assert made.returncode == 0, made.stderr
    account = json.loads(made.stdout)["address"]
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = office.folder / "far-identity.pub.pem"
    pem.write_bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    uscc = "91150105MA0Q123458"
    issued = office.ledger("ca", "issue", "far", "--uscc", uscc, "--public-key", str(pem), "--address", account)
    assert issued.returncode == 0, issued.stderr
    cert = office.folder / "home" / "certs" / "far.pem"
    enrol = ("member", "enrol", "far", "--kind", "enterprise", "--uscc", uscc, "--json")
    unproven = office.ledger(*enrol)
    assert unproven.returncode == 1 and "no key of far here to prove possession" in unproven.stderr
    proof = member("prove", "far", "--cert", str(cert), "--json")
    assert proof.returncode == 0, proof.stderr
    enrolled = office.ledger(*enrol, "--proof", json.loads(proof.stdout)["proof"])
    assert enrolled.returncode == 0, enrolled.stderr
    record = json.loads(enrolled.stdout)
    assert record["address"] == account
    assert record["cert_fingerprint"] == "0x" + ca.fingerprint(ca.load_cert(cert)).hex()


def test_sealed_terms_round_trip_and_hash_on_chain(office: Office) -> None:
    ledger = office.ledger
    document = office.folder / "terms.txt"
    document.write_text("许可合同：零门槛费，收入提成 3%。", encoding="utf-8")
    contract = {
        "id": "TC-9",
        "kind": "license",
        "seller": "imu",
        "buyer": "steel",
        "signed": "2026-02-01",
        "plan": "lump_sum",
        "milestones": [{"title": "all", "amount": "100.00", "due": "2026-06-30"}],
    }
    (office.folder / "c.json").write_text(json.dumps(contract), encoding="utf-8")
    registered = ledger("contract", "register", "--file", str(office.folder / "c.json"), "--terms", str(document))
    assert registered.returncode == 0, registered.stderr
    no_auditor = ledger("terms", "seal", str(document), "--contract", "TC-9")
    assert no_auditor.returncode == 1
    assert no_auditor.stderr.strip().endswith("issue one with `ledger ca issue regulator`")
    assert ledger("ca", "issue", "regulator").returncode == 0
    regulator = ca.load_cert(office.folder / "home" / "certs" / "regulator.pem")
    assert ca.cert_name(regulator) == "内蒙古自治区科学技术厅"  # the authority's own name, not "regulator"
    sealed = ledger("terms", "seal", str(document), "--contract", "TC-9", "--json")
    assert sealed.returncode == 0, sealed.stderr
    assert json.loads(sealed.stdout)["sha256"] == hashlib.sha256(document.read_bytes()).hexdigest()
    sealed_path = json.loads(sealed.stdout)["sealed"]
    assert "零门槛费" not in Path(sealed_path).read_text(encoding="utf-8")
    for who in ("imu", "steel", "regulator"):
        out = office.folder / f"{who}.txt"
        opened = ledger("terms", "open", sealed_path, "--as", who, "--out", str(out), "--json")
        assert opened.returncode == 0, opened.stderr
        assert json.loads(opened.stdout)["matches_chain"] is True
        assert out.read_bytes() == document.read_bytes()
    uncertified = ledger("terms", "open", sealed_path, "--as", "operator")  # not told to get a certificate
    assert uncertified.returncode == 1 and uncertified.stderr.strip().endswith(
        "only the holders of the certificates this document was sealed for can open it: "
        "内蒙古大学, 包钢, 内蒙古自治区科学技术厅"
    )
    assert ledger("ca", "issue", "outsider", "--uscc", "91350100M000100Y43").returncode == 0
    refused = ledger("terms", "open", sealed_path, "--as", "outsider")
    assert refused.returncode == 1 and "is not a recipient" in refused.stderr
    # terms are sealed only to certificates of the platform, in force, not revoked, bound to the party
    to_revoked = ledger("terms", "seal", str(document), "--contract", "TC-9", "--to", "imu,rogue")
    assert to_revoked.returncode == 1 and "the certificate of rogue" in to_revoked.stderr
    assert "has been revoked" in to_revoked.stderr
    assert ledger("key", "new", "mallory").returncode == 0
    home = office.folder / "home"
    (home / "certs" / "mallory.pem").write_bytes((home / "certs" / "imu.pem").read_bytes())
    borrowed = ledger("terms", "seal", str(document), "--contract", "TC-9", "--to", "mallory")
    assert borrowed.returncode == 1 and "the certificate of 内蒙古大学 is bound to address" in borrowed.stderr
    # a revoked or expired certificate is renewed for the key the workspace holds, keeping name and code
    blocked = ledger("ca", "issue", "rogue")
    assert blocked.returncode == 1 and "`ledger ca issue rogue --renew`" in blocked.stderr
    assert ledger("ca", "issue", "rogue", "--renew").returncode == 0
    assert ca.cert_uscc(ca.load_cert(home / "certs" / "rogue.pem")) == "91110000802100433B"
    assert ledger("terms", "seal", str(document), "--contract", "TC-9", "--to", "imu,rogue").returncode == 0
    # and what was sealed to the certificate before opens with the renewed one (the key is the same)
    before = ca.fingerprint(ca.load_cert(home / "certs" / "imu.pem"))
    assert ledger("ca", "issue", "imu", "--renew").returncode == 0
    assert ca.fingerprint(ca.load_cert(home / "certs" / "imu.pem")) != before
    reopened = ledger("terms", "open", sealed_path, "--as", "imu", "--json")
    assert reopened.returncode == 0 and json.loads(reopened.stdout)["matches_chain"] is True
    other = office.folder / "other.txt"
    other.write_text("另一份合同", encoding="utf-8")
    # the ledger seals only the document the contract was registered with ...
    wrong = ledger("terms", "seal", str(other), "--contract", "TC-9")
    assert wrong.returncode == 1 and not (office.folder / "other.txt.sealed.json").exists()
    assert wrong.stderr.strip() == (
        f"error: {other} is not the terms document contract TC-9 was registered with: its SHA-256 is "
        f"{hashlib.sha256(other.read_bytes()).hexdigest()}, the chain records "
        f"{hashlib.sha256(document.read_bytes()).hexdigest()}"
    )
    # ... and a document sealed elsewhere, to the right certificates, is opened and reported as not it
    resealed = office.folder / "elsewhere.sealed.json"
    imu_cert = ca.load_cert(home / "certs" / "imu.pem")
    resealed.write_text(
        terms.dump(terms.seal(other.read_bytes(), contract="TC-9", recipients=[imu_cert])), encoding="utf-8"
    )
    mismatch = ledger("terms", "open", str(resealed), "--as", "imu")
    assert mismatch.returncode == 4 and "MISMATCH" in mismatch.stdout
    (office.folder / "bare.json").write_text(json.dumps({**contract, "id": "TC-10"}), encoding="utf-8")
    assert ledger("contract", "register", "--file", str(office.folder / "bare.json")).returncode == 0
    bare_seal = ledger("terms", "seal", str(document), "--contract", "TC-10")
    assert bare_seal.stdout.strip().endswith(
        "contract TC-10 records no terms hash (it was registered without --terms), so whoever opens it cannot "
        "check it against the chain"
    )
    bare = json.loads(ledger("terms", "seal", str(document), "--contract", "TC-10", "--json").stdout)["sealed"]
    unhashed = ledger("terms", "open", bare, "--as", "steel")
    assert unhashed.returncode == 4
    assert unhashed.stdout.strip().endswith("no terms hash (the contract was registered without --terms)")


def test_besu_allowlist_lists_active_members_and_operators(office: Office) -> None:
    ledger = office.ledger
    out = office.folder / "permissions_config.toml"
    nodes = 'nodes-allowlist=["enode://6f8a80d1@192.168.0.9:4567"]\n'  # the network's, in the same file
    # saved by an editor that puts a byte-order mark first (Notepad): read past it, written without it
    out.write_text('\ufeffaccounts-allowlist=["0x' + "cc" * 20 + '"]\n' + nodes, encoding="utf-8")
    assert ledger("export", "besu-allowlist", "--out", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8")
    assert text.endswith(nodes) and "cc" * 20 not in text and not text.startswith("\ufeff")
    names = json.loads((office.folder / "home" / "names.json").read_text(encoding="utf-8"))
    for who in ("imu", "steel", "operator", "regulator"):
        assert names[who].lower() in text
    assert names["rogue"].lower() not in text
    assert ledger("member", "suspend", "steel").returncode == 0
    assert ledger("export", "besu-allowlist", "--out", str(out)).returncode == 0
    assert names["steel"].lower() not in out.read_text(encoding="utf-8")


def test_missing_or_malformed_files_get_a_sentence(office: Office) -> None:
    """Every file the identity commands read or write, missing, malformed or unwritable: one sentence
    on stderr, exit 1 (the runner fails the test on any traceback)."""
    folder = office.folder
    (folder / "list.json").write_text("[1, 2]", encoding="utf-8")
    (folder / "broken.json").write_text("{", encoding="utf-8")
    (folder / "not-a-key.pem").write_text("hello", encoding="utf-8")
    (folder / "binary.dat").write_bytes(b"\xff\xfe\x00")
    (folder / "a-folder").mkdir()
    project = '[project]\nname = "mkj-ledger"\n'  # a TOML file, but not a permissions file
    (folder / "pyproject.toml").write_text(project, encoding="utf-8")
    enrol_outsider = ("member", "enrol", "outsider", "--kind", "enterprise", "--uscc", "91350100M000100Y43")
    enrol_imu = ("member", "enrol", "imu", "--kind", "university", "--uscc", "121500004600012340", "--in-region")
    cases = [
        (("terms", "open", str(folder / "nope.json"), "--as", "imu"), "no sealed terms file at"),
        (("terms", "open", str(folder / "list.json"), "--as", "imu"), "is not a sealed terms document"),
        (("terms", "open", str(folder / "broken.json"), "--as", "imu"), "is not valid JSON"),
        (("terms", "seal", str(folder / "nope.txt"), "--contract", "TC-9"), "no terms file at"),
        (("export", "besu-allowlist", "--out", str(folder / "no-such-dir" / "p.toml")), "cannot write the allowlist"),
        (("export", "besu-allowlist", "--out", str(folder / "broken.json")), "cannot be a Besu permissions file"),
        (("export", "besu-allowlist", "--out", str(folder / "binary.dat")), "cannot be a Besu permissions file"),
        (("export", "besu-allowlist", "--out", str(folder / "pyproject.toml")), "is not a Besu permissions file"),
        (("ca", "issue", "keyless", "--public-key", str(folder / "not-a-key.pem")), "does not hold a PEM public key"),
        (("ca", "issue", "keyless", "--public-key", str(folder / "nope.pem")), "no public key file at"),
        (("operator", "add", "keyless", "--keystore", str(folder / "binary.dat")), "is not a readable keystore"),
        (("operator", "add", "keyless", "--keystore", str(folder / "a-folder")), "is not a readable keystore"),
        (("prove", "imu", "--cert", str(folder / "a-folder")), "cannot read the certificate"),
        (("prove", "imu", "--cert", str(folder / "binary.dat")), "is not an X.509 certificate"),
        (("prove", "keyless"), "keyless has no certificate in this workspace"),
        ((*enrol_outsider, "--cert", "nope.pem"), "no certificate file at nope.pem"),
        ((*enrol_outsider, "--proof", "zz"), "--proof is not hexadecimal"),
        ((*enrol_imu, "--proof", "0x0102"), "the proof of possession is not a valid signature"),
        ((*enrol_imu, "--proof", "0x" + "ff" * 65), "the proof of possession is not a valid signature"),
        (enrol_outsider[:-2], "a member of kind enterprise needs its unified social credit code (--uscc)"),
        (("ca", "issue", "keyless", "--renew"), "keyless has no identity key at"),
        (("ca", "issue", "keyless", "--display-name", "长" * 70), "has 70 characters; a certificate carries at most"),
        (("ca", "issue", "keyless", "--display-name", "Evil\x1b[2J"), "'Evil\\x1b[2J' holds a character that does"),
        (("ca", "issue", "imu", "--renew", "--public-key", str(folder / "nope.pem")), "give --public-key without"),
    ]
    for args, message in cases:
        result = office.ledger(*args)
        assert result.returncode == 1, (args, result.stdout)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    assert not list((folder / "home").rglob("keyless*")), "a refused issue left a key behind"
    assert (folder / "pyproject.toml").read_text(encoding="utf-8") == project, "a refused export changed the file"
    again = office.ledger("ca", "issue", "imu")
    assert again.returncode == 1 and "already has an identity key" in again.stderr


def test_an_institution_is_one_active_member_and_moves_account_by_suspension(office: Office) -> None:
    """A credit code enrolled at an active member is refused at another account (the start-up award,
    paid once per member, would be paid twice); suspended at the old account, the institution moves to
    the new one, and the old one cannot then be reinstated beside it."""
    ledger = office.ledger
    code = "121500004600012340"  # imu's
    assert ledger("ca", "issue", "imu-new", "--uscc", code, "--display-name", "内蒙古大学").returncode == 0
    enrol = ("member", "enrol", "imu-new", "--kind", "university", "--uscc", code, "--in-region")
    imu = json.loads((office.folder / "home" / "names.json").read_text(encoding="utf-8"))["imu"]
    twice = ledger(*enrol)
    assert (twice.returncode, twice.stderr.strip()) == (
        1,
        f"error: credit code {code} is already enrolled at imu ({imu}), an active member: an institution is one "
        "member, whose once-only awards would otherwise be paid twice; to move it to another account, suspend "
        "the one it leaves first (`ledger member suspend imu`)",
    )
    assert "is not a member" in ledger("member", "show", "imu-new").stderr
    assert ledger("member", "suspend", "imu").returncode == 0
    moved = ledger(*enrol)
    assert moved.returncode == 0, moved.stderr
    new = json.loads((office.folder / "home" / "names.json").read_text(encoding="utf-8"))["imu-new"]
    by_code = ledger("points", "balance", code)  # how an institution without the workspace's names asks
    assert by_code.stderr.strip() == (
        f"error: several accounts are enrolled with the credit code {code}, one after the other: "
        f"{imu} (suspended), {new} (active); name one by its address"
    )
    back = ledger("member", "reinstate", "imu")
    assert back.returncode == 1 and "its credit code is already enrolled at imu-new (" in back.stderr
    assert ledger("member", "suspend", "imu-new").returncode == 0
    assert ledger("member", "reinstate", "imu").returncode == 0
    assert ledger("member", "reinstate", "imu-new").returncode == 1  # imu holds the code again


def test_the_office_sees_whether_each_members_certificate_is_still_in_force(office: Office) -> None:
    """The chain keeps the fingerprint of the certificate a member was enrolled with; the office that
    holds the authority shows whether that certificate is in force, revoked, or renewed since."""
    ledger = office.ledger
    assert ledger("ca", "issue", "lab", "--uscc", "12150000MB12345671", "--display-name", "测试中心").returncode == 0
    enrolled = ledger("member", "enrol", "lab", "--kind", "institute", "--uscc", "12150000MB12345671", "--json")
    assert enrolled.returncode == 0, enrolled.stderr
    assert json.loads(enrolled.stdout)["certificate"] == "in force"

    def certificate() -> tuple[str, str]:
        listed = {m["name"]: m for m in json.loads(ledger("member", "list", "--json").stdout)}
        return listed["lab"]["certificate"], ledger("member", "show", "lab").stdout.strip()

    assert ledger("ca", "revoke", "lab").returncode == 0
    status, shown = certificate()
    assert status == "revoked" and shown.endswith("; the certificate it was enrolled with was revoked"), shown
    header = ledger("member", "list").stdout.splitlines()[0].split()
    assert header == ["name", "address", "kind", "status", "in", "region", "certificate", "points"]
    assert ledger("ca", "issue", "lab", "--renew").returncode == 0
    status, shown = certificate()
    assert status == "renewed" and shown.endswith(" points"), shown
    reader = office.folder / "reader"  # an institution's workspace: the deployment record, no authority
    reader.mkdir()
    (reader / "deployment.json").write_bytes((office.folder / "home" / "deployment.json").read_bytes())
    address = json.loads(ledger("member", "show", "lab", "--json").stdout)["address"]
    elsewhere = ledger("member", "show", address, "--json", env={"LEDGER_HOME": str(reader)})
    assert elsewhere.returncode == 0 and json.loads(elsewhere.stdout)["certificate"] is None, elsewhere.stderr
    assert "certificate" not in ledger("member", "list", env={"LEDGER_HOME": str(reader)}).stdout


def test_an_operator_and_a_member_trading_on_the_market_are_never_one_account(office: Office) -> None:
    """An operator records the payments that earn points: a member's account made an operator, or an
    operator's account enrolled as a trading member, could record payments to itself."""
    ledger = office.ledger
    code = "91150100MA0R12345J"
    assert ledger("ca", "issue", "operator", "--uscc", code, "--display-name", "某运营公司").returncode == 0
    enrolled = ledger("member", "enrol", "operator", "--kind", "enterprise", "--uscc", code)
    assert enrolled.returncode == 1
    assert ") is an operator: an operator records the payments that earn members their points, so it is not " in (
        enrolled.stderr
    )
    assert "member trading on the market (enterprise:" in enrolled.stderr
    assert "`ledger operator remove operator`" in enrolled.stderr
    appointed = ledger("operator", "add", "steel")
    assert appointed.returncode == 1
    assert ") is a member (enterprise): an operator records the payments that earn members their points" in (
        appointed.stderr
    )
    assert "steel" not in {o["name"] for o in json.loads(ledger("operator", "list", "--json").stdout)}
    staff = ledger("member", "enrol", "operator", "--kind", "operator", "--uscc", code, "--json")
    assert staff.returncode == 0, staff.stderr  # the market's operator, enrolled as what it is

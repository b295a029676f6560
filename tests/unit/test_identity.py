"""The platform CA, enrolment checks with test-made certificates, and sealed terms."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from eth_account import Account
from eth_account.messages import encode_defunct

from ledger.errors import ConfigError, InputError
from ledger.identity import ca, terms
from ledger.identity.ca import CaFiles, IdentityError

PASS = "regulator passphrase"
USCC = "91110000802100433B"


@pytest.fixture
def authority(tmp_path: Path) -> CaFiles:
    files = CaFiles(tmp_path / "ca")
    ca.init_ca(files, name="内蒙古自治区科学技术厅", passphrase=PASS)
    return files


def _member(files: CaFiles, *, address: str, uscc: str | None = USCC, **options: object) -> tuple[object, object]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue_member_cert(
        files, passphrase=PASS, name="内蒙古大学", uscc=uscc, address=address, public_key=key.public_key(), **options
    )  # type: ignore[arg-type]
    return cert, key


def _verify(files: CaFiles, cert: object, *, address: str, uscc: str | None = USCC) -> None:
    ca.verify_member_cert(
        cert,
        root=ca.load_cert(files.cert),
        crl=ca.load_crl(files),
        address=address,  # type: ignore[arg-type]
        uscc=uscc,
    )


def test_a_member_certificate_carries_name_code_and_address(authority: CaFiles) -> None:
    account = Account.create()
    cert, _ = _member(authority, address=account.address)
    _verify(authority, cert, address=account.address)
    assert ca.cert_name(cert) == "内蒙古大学"  # type: ignore[arg-type]
    assert ca.cert_uscc(cert) == USCC  # type: ignore[arg-type]
    assert ca.cert_address(cert) == account.address.lower()  # type: ignore[arg-type]
    assert len(ca.fingerprint(cert)) == 32  # type: ignore[arg-type]


def test_a_long_chinese_name_is_carried_whole_though_the_common_name_holds_64_bytes(authority: CaFiles) -> None:
    """`cryptography` bounds a common name by 64 UTF-8 bytes, 21 Chinese characters: the organization
    name carries the whole name, which is what the ledger reads and prints."""
    name = "内蒙古自治区农牧业科学院草原研究所有限责任公司"  # 23 characters, 69 bytes
    cert = ca.issue_member_cert(
        authority,
        passphrase=PASS,
        name=name,
        uscc=USCC,
        address=Account.create().address,
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
    )
    assert ca.cert_name(cert) == name
    (common,) = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    assert common.value == name[:21] and len(str(common.value).encode("utf-8")) <= 64


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "the name is empty"),
        (" 内蒙古大学", "the name ' 内蒙古大学' begins or ends with white space"),
        ("Evil\x1b[2J", "the name 'Evil\\x1b[2J' holds a character that does not print"),
        ("长" * 65, "the name has 65 characters; a certificate carries at most 64"),
    ],
)
def test_a_name_no_certificate_should_carry_is_refused_in_a_sentence(name: str, message: str) -> None:
    with pytest.raises(IdentityError) as refused:
        ca.check_name(name)
    assert str(refused.value) == message


def test_a_certificate_name_that_does_not_print_is_shown_escaped(tmp_path: Path) -> None:
    """A certificate made elsewhere may carry anything in its subject: it is printed escaped."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.ORGANIZATION_NAME, "Evil\x1b]0;owned\x07")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    assert ca.cert_name(cert) == "Evil\\x1b]0;owned\\x07"


def test_expired_certificate_is_refused(authority: CaFiles) -> None:
    account = Account.create()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    cert, _ = _member(authority, address=account.address, not_before=past, days=365)
    with pytest.raises(IdentityError, match="expired on"):
        _verify(authority, cert, address=account.address)


def test_the_register_lists_each_certificate_in_force_expired_or_revoked(authority: CaFiles) -> None:
    assert ca.issued_certificates(authority) == []
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired, _ = _member(authority, address=Account.create().address, not_before=past, days=365)
    current, _ = _member(authority, address=Account.create().address)
    revoked, _ = _member(authority, address=Account.create().address)
    ca.revoke(authority, passphrase=PASS, serial=revoked.serial_number)  # type: ignore[attr-defined]
    listed = ca.issued_certificates(authority)
    assert [(c.serial, c.status) for c in listed] == [
        (format(expired.serial_number, "x"), "expired"),  # type: ignore[attr-defined]
        (format(current.serial_number, "x"), "in force"),  # type: ignore[attr-defined]
        (format(revoked.serial_number, "x"), "revoked"),  # type: ignore[attr-defined]
    ]
    assert listed[0].expires == f"{expired.not_valid_after_utc:%Y-%m-%d}"  # type: ignore[attr-defined]
    assert listed[1].fingerprint == ca.fingerprint(current).hex()  # type: ignore[arg-type]


def test_certificate_of_another_authority_is_refused(authority: CaFiles, tmp_path: Path) -> None:
    other = CaFiles(tmp_path / "other")
    ca.init_ca(other, name="Somewhere Else CA", passphrase=PASS)
    account = Account.create()
    cert, _ = _member(other, address=account.address)
    with pytest.raises(IdentityError, match="not by the platform's certificate authority"):
        _verify(authority, cert, address=account.address)


def test_forged_issuer_name_is_caught_by_the_signature(authority: CaFiles, tmp_path: Path) -> None:
    other = CaFiles(tmp_path / "forger")
    ca.init_ca(other, name="内蒙古自治区科学技术厅", passphrase=PASS)  # same name, different key
    account = Account.create()
    cert, _ = _member(other, address=account.address)
    with pytest.raises(IdentityError, match="not signed by the platform's certificate authority"):
        _verify(authority, cert, address=account.address)


def test_revoked_certificate_is_refused(authority: CaFiles) -> None:
    account = Account.create()
    cert, _ = _member(authority, address=account.address)
    ca.revoke(authority, passphrase=PASS, serial=cert.serial_number)  # type: ignore[attr-defined]
    with pytest.raises(IdentityError, match="has been revoked"):
        _verify(authority, cert, address=account.address)
    with pytest.raises(IdentityError, match="already revoked"):
        ca.revoke(authority, passphrase=PASS, serial=cert.serial_number)  # type: ignore[attr-defined]


def test_damaged_authority_files_are_named_in_a_sentence(authority: CaFiles) -> None:
    cert, _ = _member(authority, address=Account.create().address)
    serial = cert.serial_number  # type: ignore[attr-defined]
    for damaged in ('{"not": "a list"}', '[{"serial": "not hexadecimal"}]', '[{"serial": 12}]'):
        authority.issued.write_text(damaged, encoding="utf-8")
        with pytest.raises(ConfigError, match="is not this authority's list of issued certificates"):
            ca.revoke(authority, passphrase=PASS, serial=serial)
    authority.issued.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="issued certificates file .* is not UTF-8 text"):
        ca.revoke(authority, passphrase=PASS, serial=serial)
    authority.crl.write_text("garbage", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a certificate revocation list"):
        ca.load_crl(authority)
    authority.crl.unlink()
    with pytest.raises(InputError, match="no revocation list file at"):
        ca.load_crl(authority)
    authority.key.unlink()
    with pytest.raises(InputError, match="no key file at"):
        ca.revoke(authority, passphrase=PASS, serial=serial)


def test_certificate_bound_to_another_address_is_refused(authority: CaFiles) -> None:
    cert, _ = _member(authority, address=Account.create().address)
    with pytest.raises(IdentityError, match="is bound to address"):
        _verify(authority, cert, address=Account.create().address)


def test_certificate_with_another_credit_code_is_refused(authority: CaFiles) -> None:
    account = Account.create()
    cert, _ = _member(authority, address=account.address)
    with pytest.raises(IdentityError, match="carries credit code 91110000802100433B"):
        _verify(authority, cert, address=account.address, uscc="121500004600012340")


def test_proof_of_possession(authority: CaFiles) -> None:
    account = Account.create()
    cert, _ = _member(authority, address=account.address)
    text = ca.challenge(account.address, cert, "n1")  # type: ignore[arg-type]
    good = Account.sign_message(encode_defunct(text=text), account.key).signature
    ca.check_possession(account.address, cert, "n1", bytes(good))  # type: ignore[arg-type]
    bad = Account.sign_message(encode_defunct(text=text), Account.create().key).signature
    with pytest.raises(IdentityError, match="was signed by"):
        ca.check_possession(account.address, cert, "n1", bytes(bad))  # type: ignore[arg-type]


def test_admission_needs_the_proof_made_for_that_certificate_by_that_account(authority: CaFiles) -> None:
    account = Account.create()
    cert, _ = _member(authority, address=account.address)
    renewed, _ = _member(authority, address=account.address)  # the same account, another certificate
    checks = {"root": ca.load_cert(authority.cert), "crl": ca.load_crl(authority), "uscc": USCC}
    proof = ca.prove_possession(cert, account)  # type: ignore[arg-type]
    admitted = ca.admit(cert, address=account.address, proof=proof, **checks)  # type: ignore[arg-type]
    assert admitted == ca.fingerprint(cert)  # type: ignore[arg-type]
    with pytest.raises(IdentityError, match="was signed by"):  # a proof answers one certificate only
        ca.admit(renewed, address=account.address, proof=proof, **checks)  # type: ignore[arg-type]
    stranger = ca.prove_possession(cert, Account.create())  # type: ignore[arg-type]
    with pytest.raises(IdentityError, match="was signed by"):
        ca.admit(cert, address=account.address, proof=stranger, **checks)  # type: ignore[arg-type]
    for garbled in (b"", b"\x01" * 10, b"\x00" * 65, b"\xff" * 65, proof + b"\x00"):
        with pytest.raises(IdentityError, match="not a valid signature"):
            ca.admit(cert, address=account.address, proof=garbled, **checks)  # type: ignore[arg-type]


def test_keys_and_passphrase_never_stored_in_the_clear(authority: CaFiles) -> None:
    assert authority.key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    for path in authority.folder.iterdir():
        assert PASS.encode() not in path.read_bytes()
    assert authority.key.stat().st_mode & 0o077 == 0


def _three(authority: CaFiles) -> list[tuple[object, object]]:
    return [_member(authority, address=Account.create().address) for _ in range(3)]


def test_terms_round_trip_for_every_recipient(authority: CaFiles) -> None:
    people = _three(authority)
    document = "技术许可合同：许可费为收入的 3%。".encode()
    sealed = terms.seal(document, contract="TC-1", recipients=[c for c, _ in people])  # type: ignore[misc]
    for cert, key in people:
        opened = terms.open_sealed(json.loads(terms.dump(sealed)), cert=cert, key=key)  # type: ignore[arg-type]
        assert opened.plaintext == document
    assert sealed["sha256"] == __import__("hashlib").sha256(document).hexdigest()


def test_non_party_cannot_open(authority: CaFiles) -> None:
    people = _three(authority)
    sealed = terms.seal(b"terms", contract="TC-1", recipients=[c for c, _ in people[:2]])  # type: ignore[misc]
    outsider_cert, outsider_key = people[2]
    with pytest.raises(IdentityError, match="is not a recipient"):
        terms.open_sealed(sealed, cert=outsider_cert, key=outsider_key)  # type: ignore[arg-type]
    # someone holding a party's certificate but not its key gets nothing either
    with pytest.raises(IdentityError, match="altered, or this key does not belong"):
        terms.open_sealed(sealed, cert=people[0][0], key=outsider_key)  # type: ignore[arg-type]


def test_a_certificate_renewed_for_the_same_key_opens_what_was_sealed_before(authority: CaFiles) -> None:
    address = Account.create().address
    key = ec.generate_private_key(ec.SECP256R1())
    other, other_key = _member(authority, address=Account.create().address)

    def certify(public: ec.EllipticCurvePublicKey) -> x509.Certificate:
        return ca.issue_member_cert(
            authority, passphrase=PASS, name="内蒙古大学", uscc=USCC, address=address, public_key=public
        )

    old = certify(key.public_key())
    sealed = terms.seal(b"the terms", contract="TC-1", recipients=[old, other])  # type: ignore[list-item]
    renewed = certify(key.public_key())
    assert ca.fingerprint(renewed) != ca.fingerprint(old)
    assert terms.open_sealed(sealed, cert=renewed, key=key).plaintext == b"the terms"
    # a renewed certificate with another key, or a key that is not the certificate's, opens nothing
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(IdentityError, match="is not a recipient"):
        terms.open_sealed(sealed, cert=certify(stranger_key.public_key()), key=stranger_key)
    with pytest.raises(IdentityError, match="is not a recipient"):
        terms.open_sealed(sealed, cert=renewed, key=other_key)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["ciphertext", "wrapped_key", "sha256", "contract"])
def test_tampered_sealed_file_is_refused(authority: CaFiles, field: str) -> None:
    cert, key = _member(authority, address=Account.create().address)
    sealed = terms.seal(b"the terms", contract="TC-1", recipients=[cert])  # type: ignore[list-item]
    if field == "ciphertext":
        raw = bytearray(terms._unb64(sealed["ciphertext"]))
        raw[0] ^= 1
        sealed["ciphertext"] = terms._b64(bytes(raw))
    elif field == "wrapped_key":
        raw = bytearray(terms._unb64(sealed["recipients"][0]["wrapped_key"]))
        raw[3] ^= 1
        sealed["recipients"][0]["wrapped_key"] = terms._b64(bytes(raw))
    elif field == "sha256":
        sealed["sha256"] = "00" * 32
    else:
        sealed["contract"] = "TC-2"
    with pytest.raises(IdentityError, match="altered"):
        terms.open_sealed(sealed, cert=cert, key=key)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [("contract", None), ("nonce", None), ("nonce", 7), ("recipients", "imu"), ("recipients", [1]), ("sha256", [])],
)
def test_a_sealed_file_with_a_field_of_another_type_is_damaged(authority: CaFiles, field: str, value: object) -> None:
    cert, key = _member(authority, address=Account.create().address)
    sealed = terms.seal(b"the terms", contract="TC-1", recipients=[cert])  # type: ignore[list-item]
    sealed[field] = value
    with pytest.raises(IdentityError, match=r"damaged \(a field is missing or malformed\)"):
        terms.open_sealed(sealed, cert=cert, key=key)  # type: ignore[arg-type]


def test_a_new_identity_key_is_written_encrypted_for_its_owner_alone(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "imu.identity.pem"
    public = ca.new_identity_key(path, PASS)
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert ca.load_encrypted_key(path, PASS).public_key() == public


def test_a_public_key_sent_by_a_member_must_be_p256(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    def pem(curve: ec.EllipticCurve) -> Path:
        key = ec.generate_private_key(curve).public_key()
        path = tmp_path / f"{curve.name}.pem"
        path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return path

    assert isinstance(ca.load_public_key(pem(ec.SECP256R1())).curve, ec.SECP256R1)
    with pytest.raises(InputError, match="must be an EC P-256 key"):
        ca.load_public_key(pem(ec.SECP384R1()))
    (tmp_path / "junk.pem").write_text("not a key", encoding="utf-8")
    with pytest.raises(InputError, match="does not hold a PEM public key"):
        ca.load_public_key(tmp_path / "junk.pem")


def test_a_members_enrolment_certificate_is_in_force_revoked_renewed_or_foreign(
    authority: CaFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `ledger member show|list` says of the certificate whose fingerprint the chain keeps."""
    from ledger.cli_identity import certificate_status, certificate_statuses
    from ledger.config import Config

    office = Config(home=tmp_path)  # the authority's folder is the fixture's, tmp_path / "ca"
    address = Account.create().address
    first, _ = _member(authority, address=address)
    enrolled = ca.fingerprint(first)  # type: ignore[arg-type]
    issued = certificate_statuses(office)
    assert certificate_status(issued, enrolled, address) == "in force"
    assert certificate_status(issued, b"\1" * 32, address) == "not issued by this authority"
    assert certificate_status(issued, b"\0" * 32, address) is None  # enrolled without one, as a scenario enrols
    assert certificate_status(None, enrolled, address) is None  # a workspace without the authority
    ca.revoke(authority, passphrase=PASS, serial=first.serial_number)  # type: ignore[attr-defined]
    assert certificate_status(certificate_statuses(office), enrolled, address) == "revoked"
    _member(authority, address=address)  # a new certificate for the same account
    assert certificate_status(certificate_statuses(office), enrolled, address.lower()) == "renewed"
    authority.issued.write_text("garbage", encoding="utf-8")
    assert certificate_statuses(office) is None
    assert capsys.readouterr().err.endswith(": the status of the members' certificates is not shown\n")

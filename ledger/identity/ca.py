"""The platform certificate authority: member certificates bound to credit codes and addresses.

The regulator's root CA (EC P-256) issues each member an X.509 certificate whose subject carries
the institution's name (UTF-8) and unified social credit code (serialNumber), and whose subject
alternative name binds the member's Ethereum address (URI ``ethereum:0x...``). The root key is
stored encrypted with a passphrase; revocations go into a CRL signed by the root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ledger.errors import ConfigError, InputError, LedgerError
from ledger.files import read_file, read_json_file
from ledger.format import shown

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

ADDRESS_URI_PREFIX = "ethereum:"


class IdentityError(LedgerError):
    """A certificate or proof of possession was refused; the message says which check failed."""


@dataclass(frozen=True)
class CaFiles:
    """Where the platform CA keeps its files: its encrypted key, root certificate, revocation list and
    the register of what it issued."""

    folder: Path

    @property
    def key(self) -> Path:
        return self.folder / "root-key.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "root-cert.pem"

    @property
    def crl(self) -> Path:
        return self.folder / "crl.pem"

    @property
    def issued(self) -> Path:
        return self.folder / "issued.json"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def encrypt_key(key: ec.EllipticCurvePrivateKey, passphrase: str) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )


def load_encrypted_key(path: Path, passphrase: str) -> ec.EllipticCurvePrivateKey:
    """The EC private key in the PEM file `path`, decrypted with `passphrase`."""
    data = read_file(path, "key")
    try:
        key = serialization.load_pem_private_key(data, passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise ConfigError(f"the passphrase does not open the key {path}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{path} is not an EC key")
    return key


def new_identity_key(path: Path, passphrase: str) -> ec.EllipticCurvePublicKey:
    """A member's new identity key (EC P-256: the key its certificate carries and sealed terms are
    wrapped to), written to `path` encrypted under `passphrase`; its public half."""
    private = ec.generate_private_key(ec.SECP256R1())
    _write_private(path, encrypt_key(private, passphrase))
    return private.public_key()


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """An identity key a member made itself and sent as PEM (its private half never leaves it)."""
    try:
        given = serialization.load_pem_public_key(read_file(path, "public key"))
    except ValueError:
        raise InputError(f"{path} does not hold a PEM public key") from None
    if not isinstance(given, ec.EllipticCurvePublicKey) or not isinstance(given.curve, ec.SECP256R1):
        raise InputError("the member's public key must be an EC P-256 key")
    return given


def _write_private(path: Path, data: bytes) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def init_ca(files: CaFiles, *, name: str, passphrase: str, days: int = 3650) -> x509.Certificate:
    """Create the root CA (refuses to replace an existing one)."""
    if files.cert.exists() or files.key.exists():
        raise ConfigError(f"a certificate authority already exists in {files.folder}")
    if len(passphrase) < 8:
        raise ConfigError("the CA passphrase must have at least 8 characters")
    subject = x509.Name(_name_attributes(name))
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(files.key, encrypt_key(key, passphrase))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.issued.write_text("[]", encoding="utf-8")
    _write_crl(files, key, cert, revoked=[])
    return cert


def load_ca(files: CaFiles, passphrase: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    if not files.cert.exists():
        raise ConfigError(f"no certificate authority in {files.folder}; run `ledger ca init` first")
    return load_encrypted_key(files.key, passphrase), load_cert(files.cert)


def load_cert(path: Path) -> x509.Certificate:
    """The X.509 certificate in the file `path` (PEM or DER)."""
    data = read_file(path, "certificate")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError:
            raise IdentityError(f"{path} is not an X.509 certificate (PEM or DER)") from None


def issue_member_cert(
    files: CaFiles,
    *,
    passphrase: str,
    name: str,
    uscc: str | None,
    address: str,
    public_key: ec.EllipticCurvePublicKey,
    days: int = 365,
    not_before: dt.datetime | None = None,
) -> x509.Certificate:
    """A member certificate: name and credit code in the subject, the Ethereum address in the SAN."""
    ca_key, ca_cert = load_ca(files, passphrase)
    attributes = _name_attributes(name)
    if uscc:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, uscc))
    start = not_before or (_now() - dt.timedelta(minutes=5))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(ADDRESS_URI_PREFIX + address.lower())]),
            critical=False,
        )
        .add_extension(x509.KeyUsage(True, False, True, False, True, False, False, False, False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    issued = _issued(files)
    issued.append(
        {
            "serial": format(cert.serial_number, "x"),
            "name": name,
            "address": address,
            "fingerprint": fingerprint(cert).hex(),
            "expires": f"{cert.not_valid_after_utc:%Y-%m-%d}",
        }
    )
    files.issued.write_text(json.dumps(issued, ensure_ascii=False, indent=1), encoding="utf-8")
    return cert


def revoke(files: CaFiles, *, passphrase: str, serial: int) -> None:
    """Add the certificate with `serial` to the CA's revocation list, signed anew."""
    ca_key, ca_cert = load_ca(files, passphrase)
    revoked = [entry.serial_number for entry in load_crl(files)]
    if serial in revoked:
        raise IdentityError(f"certificate {serial:x} is already revoked")
    known = {int(e["serial"], 16) for e in _issued(files)}
    if serial not in known:
        raise IdentityError(f"this authority never issued a certificate with serial {serial:x}")
    _write_crl(files, ca_key, ca_cert, revoked=[*revoked, serial])


def _write_crl(files: CaFiles, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, *, revoked: list[int]) -> None:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=30))
    )
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    files.crl.write_bytes(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class IssuedCert:
    """A certificate as the authority's register keeps it, and whether its revocation list names it."""

    serial: str
    name: str
    address: str
    fingerprint: str
    expires: str | None  # the day (UTC) its validity ends; None in entries written before it was kept
    status: str  # "in force", "expired" or "revoked"


def issued_certificates(files: CaFiles) -> list[IssuedCert]:
    """Every certificate the authority issued, in issue order (read without its key)."""
    if not files.cert.exists():
        raise ConfigError(f"no certificate authority in {files.folder}; run `ledger ca init` first")
    revoked = {entry.serial_number for entry in load_crl(files)}
    today = f"{_now():%Y-%m-%d}"

    def status(entry: dict[str, str]) -> str:
        if int(entry["serial"], 16) in revoked:
            return "revoked"
        return "expired" if entry.get("expires", today) < today else "in force"

    return [
        IssuedCert(
            serial=e["serial"],
            name=str(e.get("name", "")),
            address=str(e.get("address", "")),
            fingerprint=str(e.get("fingerprint", "")),
            expires=e.get("expires"),
            status=status(e),
        )
        for e in _issued(files)
    ]


def _issued(files: CaFiles) -> list[dict[str, str]]:
    """The authority's record of the certificates it issued."""
    issued = read_json_file(files.issued, "issued certificates")
    if not isinstance(issued, list) or not all(isinstance(e, dict) and is_serial(e.get("serial")) for e in issued):
        raise ConfigError(f"{files.issued} is not this authority's list of issued certificates")
    return issued


def is_serial(value: object) -> bool:
    """A certificate serial number as the register keeps it and `ca revoke` prints it: hexadecimal text
    (int(_, 16) alone would also take full-width digits, white space and underscores)."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{1,40}", value) is not None


def load_crl(files: CaFiles) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(read_file(files.crl, "revocation list"))
    except ValueError:
        raise ConfigError(f"{files.crl} is not a certificate revocation list") from None


def fingerprint(cert: x509.Certificate) -> bytes:
    """SHA-256 of the DER certificate: what the Membership contract stores."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


def cert_address(cert: x509.Certificate) -> str | None:
    """The Ethereum address the certificate binds (its `ethereum:0x...` subject alternative name), if any."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(ADDRESS_URI_PREFIX):
            return uri[len(ADDRESS_URI_PREFIX) :]
    return None


def cert_uscc(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(values[0].value) if values else None


#: The most characters of an institution's name a certificate carries (RFC 5280's upper bound for an
#: organization name).
MAX_NAME_CHARACTERS = 64
#: The most UTF-8 bytes of a common name (the bound `cryptography` enforces): 21 Chinese characters.
MAX_COMMON_NAME_BYTES = 64


def check_name(name: str, what: str = "the name") -> str:
    """An institution's name as a certificate can carry it, else a sentence saying what is wrong."""
    if not name.strip():
        raise IdentityError(f"{what} is empty")
    if name != name.strip():
        raise IdentityError(f"{what} {name!r} begins or ends with white space")
    if not name.isprintable():
        raise IdentityError(f"{what} '{shown(name)}' holds a character that does not print")
    if len(name) > MAX_NAME_CHARACTERS:
        raise IdentityError(f"{what} has {len(name)} characters; a certificate carries at most {MAX_NAME_CHARACTERS}")
    return name


def _name_attributes(name: str) -> list[x509.NameAttribute[str]]:
    """The subject of a certificate for `name`: the whole name as the organization, and as the common
    name as much of it as fits in 64 bytes (a long Chinese name is cut at a character)."""
    check_name(name)
    common = name
    while len(common.encode("utf-8")) > MAX_COMMON_NAME_BYTES:
        common = common[:-1]
    return [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, name)]


def cert_name(cert: x509.Certificate) -> str:
    """The institution's name a certificate carries (its organization, else its common name), with any
    character that does not print escaped: a certificate from elsewhere may hold anything."""
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        values = cert.subject.get_attributes_for_oid(oid)
        if values:
            return shown(str(values[0].value))
    return ""


def verify_member_cert(
    cert: x509.Certificate,
    *,
    root: x509.Certificate,
    crl: x509.CertificateRevocationList,
    address: str,
    uscc: str | None,
    at: dt.datetime | None = None,
) -> None:
    """Check a member certificate for enrolment; `IdentityError` says which check failed."""
    check_cert(cert, root=root, crl=crl, address=address, at=at)
    if (cert_uscc(cert) or None) != (uscc or None):
        raise IdentityError(
            f"the certificate of {cert_name(cert)} carries credit code {cert_uscc(cert) or '(none)'}, "
            f"but the enrolment gives {uscc or '(none)'}"
        )


def check_cert(
    cert: x509.Certificate,
    *,
    root: x509.Certificate,
    crl: x509.CertificateRevocationList,
    address: str,
    at: dt.datetime | None = None,
) -> None:
    """Check that `cert` is the platform's, in force, not revoked and bound to `address`; `IdentityError`
    says which check failed."""
    now = at or _now()
    if cert.issuer != root.subject:
        raise IdentityError(
            f"the certificate of {cert_name(cert)} was issued by {cert.issuer.rfc4514_string()}, "
            "not by the platform's certificate authority"
        )
    try:
        cert.verify_directly_issued_by(root)
    except (InvalidSignature, ValueError, TypeError):
        raise IdentityError(
            f"the certificate of {cert_name(cert)} is not signed by the platform's certificate authority"
        ) from None
    if now < cert.not_valid_before_utc:
        raise IdentityError(
            f"the certificate of {cert_name(cert)} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
        )
    if now > cert.not_valid_after_utc:
        raise IdentityError(f"the certificate of {cert_name(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if not crl.is_signature_valid(root.public_key()):  # type: ignore[arg-type]
        raise IdentityError("the revocation list is not signed by the platform's certificate authority")
    if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
        raise IdentityError(f"the certificate of {cert_name(cert)} (serial {cert.serial_number:x}) has been revoked")
    bound = cert_address(cert)
    if bound is None or bound.lower() != address.lower():
        raise IdentityError(
            f"the certificate of {cert_name(cert)} is bound to address {bound or '(none)'}, not to {address}"
        )


def challenge(address: str, cert: x509.Certificate, nonce: str) -> str:
    """The text a member signs with its Ethereum key to prove it holds the enrolled account."""
    return f"mkj-ledger enrolment\naddress: {address}\ncertificate: {fingerprint(cert).hex()}\nnonce: {nonce}"


def check_possession(address: str, cert: x509.Certificate, nonce: str, signature: bytes) -> None:
    """Check that `signature` is `address`'s signature of the challenge; `IdentityError` says why not."""
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from eth_keys.exceptions import BadSignature
    from eth_utils.exceptions import ValidationError

    invalid = IdentityError("the proof of possession is not a valid signature (65 bytes, as `ledger prove` prints)")
    if len(signature) != 65:  # what a shorter one raises depends on its length (IndexError, ValidationError)
        raise invalid
    try:
        signer = Account.recover_message(encode_defunct(text=challenge(address, cert, nonce)), signature=signature)
    except (ValueError, TypeError, BadSignature, ValidationError):
        raise invalid from None
    if signer.lower() != address.lower():
        raise IdentityError(f"the proof of possession was signed by {signer}, not by {address}")


def prove_possession(cert: x509.Certificate, key: LocalAccount) -> bytes:
    """A member's proof that it holds the account its certificate binds: the signature, by `key`, of the
    enrolment challenge. Made where the key is (`ledger prove`)."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    text = challenge(key.address, cert, _enrolment_nonce(cert))
    return bytes(Account.sign_message(encode_defunct(text=text), key.key).signature)


def admit(
    cert: x509.Certificate,
    *,
    root: x509.Certificate,
    crl: x509.CertificateRevocationList,
    address: str,
    uscc: str | None,
    proof: bytes,
) -> bytes:
    """The certificate fingerprint that enrols a member at `address`: the certificate passes every check
    of `verify_member_cert` and `proof` is that account's `prove_possession`; else `IdentityError`
    says which check failed."""
    verify_member_cert(cert, root=root, crl=crl, address=address, uscc=uscc)
    check_possession(address, cert, _enrolment_nonce(cert), proof)
    return fingerprint(cert)


def _enrolment_nonce(cert: x509.Certificate) -> str:
    """The challenge's nonce: the certificate's serial, so that a proof answers one certificate only."""
    return format(cert.serial_number, "x")

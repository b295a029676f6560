"""CLI commands for identity: the platform CA, sealed contract terms, the Besu allowlist."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.cli import EXIT_DISCREPANCY, emit, int_in, warn, workspace
from ledger.config import Config, file_name
from ledger.errors import ConfigError, InputError, UsageError
from ledger.files import read_file, read_json_file, write_file
from ledger.format import count

if TYPE_CHECKING:
    from cryptography import x509

    from ledger.identity.ca import CaFiles
    from ledger.services.workspace import Workspace


def ca_files(config: Config) -> CaFiles:
    from ledger.identity.ca import CaFiles

    return CaFiles(config.home / "ca")


@dataclass(frozen=True)
class IssuedIndex:
    """The authority's register as members are looked up in it: each certificate's status by its
    fingerprint, and the accounts that hold one in force."""

    status: dict[bytes, str]
    in_force: frozenset[str]  # addresses, lower-case


def certificate_statuses(config: Config) -> IssuedIndex | None:
    """In the office that holds the platform's authority, every certificate it issued, with its status;
    None in a workspace without the authority."""
    from ledger.identity import ca

    files = ca_files(config)
    if not files.cert.exists():
        return None
    try:
        issued = ca.issued_certificates(files)
    except (ConfigError, InputError) as exc:  # the members are still listed; their certificates cannot be told
        warn(f"{exc}: the status of the members' certificates is not shown")
        return None
    status: dict[bytes, str] = {}
    for cert in issued:
        try:
            status[bytes.fromhex(cert.fingerprint.removeprefix("0x"))] = cert.status
        except ValueError:  # an entry written by hand: it names no certificate
            continue
    in_force = frozenset(c.address.lower() for c in issued if c.status == "in force")
    return IssuedIndex(status, in_force)


def certificate_status(issued: IssuedIndex | None, fingerprint: bytes, address: str) -> str | None:
    """The status of the certificate a member was enrolled with ("in force", "expired", "revoked"), or
    "renewed" when the authority has since given its account one that is in force; None where nothing
    can be said (no authority here, or a member enrolled without a certificate, as a scenario enrols)."""
    if issued is None or not any(fingerprint):
        return None
    enrolled = issued.status.get(fingerprint)
    if enrolled is None:
        return "not issued by this authority"
    if enrolled != "in force" and address.lower() in issued.in_force:
        return "renewed"
    return enrolled


def cert_path(config: Config, name: str) -> Path:
    return config.home / "certs" / f"{file_name(name)}.pem"


def member_cert(config: Config, name: str) -> x509.Certificate:
    """The certificate the workspace holds for `name` (an x509.Certificate), or what to do without one."""
    from ledger.identity import ca

    path = cert_path(config, name)
    if not path.exists():
        raise InputError(
            f"{name} has no certificate in this workspace ({path}): issue one with `ledger ca issue {name}`"
        )
    return ca.load_cert(path)


def _renew_cert(ws: Workspace, config: Config, args: argparse.Namespace) -> int:
    """A new certificate for the identity key the workspace already holds for a member (after expiry or
    revocation): the name, credit code and account of the current certificate unless given anew. Sealed
    terms stay readable with the key."""
    from ledger.domain.uscc import validate_uscc
    from ledger.identity import ca

    key_path = identity_key_path(config, args.member)
    if args.public_key:
        raise InputError("--renew keeps the identity key the workspace holds; give --public-key without --renew")
    if not key_path.exists():
        raise InputError(f"{args.member} has no identity key at {key_path} to renew: `ledger ca issue {args.member}`")
    files = ca_files(config)
    current = member_cert(config, args.member)
    passphrase = ws.passphrase()
    ca.load_ca(files, passphrase)  # refuses before the key is decrypted: no CA, or a wrong passphrase
    public = ca.load_encrypted_key(key_path, passphrase).public_key()
    address = ws.resolve(args.address) if args.address else ca.cert_address(current)
    if address is None:
        raise InputError(f"the certificate of {args.member} binds no account: give --address")
    cert = ca.issue_member_cert(
        files,
        passphrase=passphrase,
        name=args.display_name or ca.cert_name(current),
        uscc=validate_uscc(args.uscc) if args.uscc else ca.cert_uscc(current),
        address=address,
        public_key=public,
        days=args.days or 365,
    )
    _save_issued(config, args.member, cert, address)
    return 0


def _save_issued(config: Config, member: str, cert: x509.Certificate, address: str) -> None:
    """Write a member's new certificate where the workspace keeps it, and say so."""
    from cryptography.hazmat.primitives import serialization
    from eth_utils.address import to_checksum_address

    from ledger.identity import ca

    address = to_checksum_address(address)  # as every other command writes an account (a renewal reads it lower-case)
    path = cert_path(config, member)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    emit(
        config,
        {
            "member": member,
            "certificate": str(path),
            "serial": format(cert.serial_number, "x"),
            "fingerprint": ca.fingerprint(cert).hex(),
            "address": address,
        },
        f"issued {path} to {ca.cert_name(cert)} ({address}), serial {cert.serial_number:x}",
    )


def recipient_certs(ws: Workspace, config: Config, names: list[str]) -> list[x509.Certificate]:
    """The certificates to seal terms to: each the platform's, in force, not revoked, and bound to the
    account the workspace knows by that name (a revoked key is never sealed to)."""
    from ledger.identity import ca

    files = ca_files(config)
    if not files.cert.exists():
        raise InputError(
            f"this workspace has no platform root certificate ({files.cert}) to check the recipients' "
            "certificates against"
        )
    root, crl = ca.load_cert(files.cert), ca.load_crl(files)
    certs = []
    for name in names:
        cert = member_cert(config, name)
        ca.check_cert(cert, root=root, crl=crl, address=ws.resolve(name))
        certs.append(cert)
    return certs


def _default_display_name(files: CaFiles, member: str) -> str:
    """The name a certificate carries when none is given: the regulator's is the authority's own (the
    science department runs the platform CA), anyone else's the workspace name."""
    from ledger.identity import ca

    return ca.cert_name(ca.load_cert(files.cert)) if member == "regulator" and files.cert.exists() else member


def identity_key_path(config: Config, name: str) -> Path:
    return config.home / "identity" / f"{file_name(name)}-key.pem"


def cmd_ca(args: argparse.Namespace, config: Config) -> int:
    from ledger.domain.uscc import validate_uscc
    from ledger.identity import ca

    ws = workspace(config)
    files = ca_files(config)
    for given, flag in ((args.name, "--name"), (args.display_name, "--display-name")):
        if given is not None:  # checked before any key is made: a refusal leaves none behind
            ca.check_name(given, flag)
    if args.action == "init":
        cert = ca.init_ca(
            files,
            name=args.name or "内蒙古自治区科学技术厅",
            passphrase=ws.passphrase(confirm=True),
            days=args.days or 3650,
        )
        emit(
            config,
            {"root": str(files.cert), "fingerprint": ca.fingerprint(cert).hex()},
            f"certificate authority {ca.cert_name(cert)} created in {files.folder} "
            f"(root fingerprint {ca.fingerprint(cert).hex()[:16]}...)",
        )
        return 0
    if args.action == "list":
        return _list_certs(config, files)
    if not args.member:
        raise UsageError(f"ca {args.action} needs the member's name")
    if args.action == "issue":
        if args.renew:
            return _renew_cert(ws, config, args)
        uscc = validate_uscc(args.uscc) if args.uscc else None
        # Everything that can refuse comes before anything is written: a refusal leaves no key behind.
        key_path = identity_key_path(config, args.member)
        public = ca.load_public_key(Path(args.public_key)) if args.public_key else None
        if public is None and key_path.exists():
            raise InputError(
                f"{args.member} already has an identity key at {key_path}; "
                f"for a new certificate to that key: `ledger ca issue {args.member} --renew`"
            )
        passphrase = ws.passphrase()
        ca.load_ca(files, passphrase)  # a missing CA or a wrong passphrase refuses here, before any key exists
        address = (
            ws.resolve(args.address) if args.address else (ws.keystore_address(args.member) or ws.new_key(args.member))
        )
        ws.remember(args.member, address)
        if public is None:
            public = ca.new_identity_key(key_path, passphrase)
        cert = ca.issue_member_cert(
            files,
            passphrase=passphrase,
            name=args.display_name or _default_display_name(files, args.member),
            uscc=uscc,
            address=address,
            public_key=public,
            days=args.days or 365,
        )
        _save_issued(config, args.member, cert, address)
        return 0
    # revoke
    path = cert_path(config, args.member)
    serial = int(args.member, 16) if not path.exists() and _is_hex(args.member) else ca.load_cert(path).serial_number
    ca.revoke(files, passphrase=ws.passphrase(), serial=serial)
    text = f"revoked certificate {serial:x}; the CRL is {files.crl}"
    if path.exists():  # revoked by the member's name
        text += (
            f"\nthe CRL stops new enrolments with it; if {args.member} is enrolled, it stays active on chain"
            f" until suspended: `ledger member suspend {args.member}`"
        )
    emit(config, {"revoked": format(serial, "x")}, text)
    return 0


def _list_certs(config: Config, files: CaFiles) -> int:
    """`ledger ca list`: what the authority issued, each in force, expired or revoked (no key is opened)."""
    from ledger.format import shown, table
    from ledger.identity import ca

    certs = ca.issued_certificates(files)
    data = [asdict(c) for c in certs]
    rows = [[c.serial, shown(c.name), c.address, c.expires or "-", c.status] for c in certs]
    text = (
        table(["serial", "name", "account", "expires", "status"], rows)
        if rows
        else f"the authority in {files.folder} has issued no certificate yet"
    )
    emit(config, data, text)
    return 0


def _is_hex(text: str) -> bool:
    """Whether `text` is a certificate serial number (`ca.is_serial`), perhaps after 0x."""
    from ledger.identity import ca

    return ca.is_serial(text.removeprefix("0x"))


def enrolment_cert(config: Config, name: str, cert_arg: str | None) -> x509.Certificate:
    """The certificate a member is enrolled with (--cert, else the workspace's), refused before anything
    is made or sent when there is none, or no platform root certificate to check it against: a
    workspace without one enrols no one."""
    from ledger.identity import ca

    files = ca_files(config)
    if not files.cert.exists():
        raise InputError(
            f"enrolling {name} needs its certificate, checked against the platform's root certificate, and "
            f"this workspace has none ({files.cert}): run `ledger ca init`, then `ledger ca issue {name}`"
        )
    path = Path(cert_arg) if cert_arg else cert_path(config, name)
    if not cert_arg and not path.exists():
        raise InputError(
            f"enrolling {name} needs its certificate: there is none in this workspace ({path}); "
            f"issue one with `ledger ca issue {name}` or pass --cert FILE"
        )
    return ca.load_cert(path)


def enrolment_address(ws: Workspace, name: str, address: str | None, cert: x509.Certificate, held: str | None) -> str:
    """The account to enrol: --address, else the key the workspace holds for the member, else the account
    its certificate binds (whose key is elsewhere: the proof then comes from `ledger prove`). `held` is
    the account of the workspace's key of the member (None: it holds none). The name
    book takes the name only once the member is enrolled: a refused enrolment leaves it as it was."""
    from eth_utils.address import is_address, to_checksum_address

    from ledger.identity import ca

    bound = ca.cert_address(cert) or ""
    chosen = ws.resolve(address) if address else held
    if chosen is None:
        if not is_address(bound):
            raise InputError(f"the certificate of {name} binds no account: give --address")
        chosen = to_checksum_address(bound)
    ws.check_name(name, chosen)
    return str(chosen)


def enrolment_fingerprint(
    ws: Workspace,
    name: str,
    address: str,
    uscc: str | None,
    cert: x509.Certificate,
    proof: str | None,
    held: str | None,
) -> bytes:
    """The fingerprint of the member's certificate, once it is checked against the platform root: the
    chain, the validity dates, the CRL, the credit code, the bound account and a proof of possession
    (--proof, else signed here with the member's key, which the workspace holds when `held` names its
    account)."""
    from ledger.identity import ca

    if proof:
        try:
            signature = bytes.fromhex(proof.removeprefix("0x"))
        except ValueError:
            raise InputError("--proof is not hexadecimal: pass the signature `ledger prove` printed") from None
    elif held is None:
        raise InputError(
            f"no key of {name} here to prove possession: pass --proof from `ledger prove {name}`, run where its key is"
        )
    else:
        # the member's own key, even when --keystore names the regulator's, which signs the enrolment
        signature = ca.prove_possession(cert, ws.key(name, own=True))
    files = ca_files(ws.config)
    root, crl = ca.load_cert(files.cert), ca.load_crl(files)
    return ca.admit(cert, root=root, crl=crl, address=address, uscc=uscc, proof=signature)


def cmd_prove(args: argparse.Namespace, config: Config) -> int:
    """Sign the enrolment challenge with the member's own key (run where that key lives)."""
    from ledger.identity import ca

    cert = ca.load_cert(Path(args.cert)) if args.cert else member_cert(config, args.member)
    proof = "0x" + ca.prove_possession(cert, workspace(config).key(args.member)).hex()
    emit(config, {"proof": proof}, proof)
    return 0


def cmd_terms(args: argparse.Namespace, config: Config) -> int:
    from ledger.identity import terms

    if args.action == "seal" and not args.contract:
        raise UsageError("terms seal needs --contract ID: the contract whose terms the document is")
    if args.action == "open" and not args.who:
        raise UsageError("terms open needs --as NAME: the party whose certificate and key open it")
    ws = workspace(config)
    if args.action == "seal":
        from ledger.chain.encoding import sha256_bytes

        plaintext = read_file(Path(args.file), "terms")
        contract = ws.client.contract_view(args.contract)
        terms_hash = bytes(contract["terms_hash"])
        digest = sha256_bytes(plaintext)
        if any(terms_hash) and terms_hash != digest:  # the parties would open it only to be told it is not theirs
            raise InputError(
                f"{args.file} is not the terms document contract {args.contract} was registered with: its SHA-256 "
                f"is {digest.hex()}, the chain records {terms_hash.hex()}"
            )
        names = [n.strip() for n in (args.to or "").split(",") if n.strip()]
        if not names:
            names = [ws.name_of(contract["seller"]), ws.name_of(contract["buyer"])]
        if args.auditor:
            names.append(args.auditor)
        certs = recipient_certs(ws, config, names)
        sealed = terms.seal(plaintext, contract=args.contract, recipients=certs)
        out = Path(args.out or f"{args.file}.sealed.json")
        write_file(out, terms.dump(sealed).encode("utf-8"), "sealed terms")
        hashed = (
            f"its SHA-256 {sealed['sha256']} is the contract's terms hash on chain"
            if any(terms_hash)
            else f"contract {args.contract} records no terms hash (it was registered without --terms), so whoever "
            "opens it cannot check it against the chain"
        )
        emit(
            config,
            {"sealed": str(out), "sha256": sealed["sha256"], "recipients": names, "matches_chain": any(terms_hash)},
            f"sealed {args.file} for {', '.join(names)} into {out}; {hashed}",
        )
        return 0
    from ledger.identity.ca import load_encrypted_key

    sealed_doc = read_json_file(Path(args.file), "sealed terms")
    if not isinstance(sealed_doc, dict):
        raise InputError(f"{args.file} is not a sealed terms document of the ledger")
    who = args.who
    if not cert_path(config, who).exists():  # a certificate would not make a party of one that is not
        recipients = ", ".join(terms.recipient_names(sealed_doc)) or "none is named"
        raise InputError(
            f"{who} has no certificate in this workspace, and only the holders of the certificates this document "
            f"was sealed for can open it: {recipients}"
        )
    opened = terms.open_sealed(
        sealed_doc,
        cert=member_cert(config, who),
        key=load_encrypted_key(identity_key_path(config, who), ws.passphrase()),
    )
    on_chain = ws.client.contract_view(sealed_doc.get("contract", ""))["terms_hash"]
    matches = bytes(on_chain) == opened.sha256
    if args.out:
        write_file(Path(args.out), opened.plaintext, "terms")
    data = {
        "contract": sealed_doc.get("contract"),
        "sha256": opened.sha256.hex(),
        "on_chain": "0x" + bytes(on_chain).hex(),
        "matches_chain": matches,
    }
    recorded = bytes(on_chain).hex() if any(on_chain) else "no terms hash (the contract was registered without --terms)"
    text = (
        f"opened as {opened.recipient}: {count(len(opened.plaintext), 'byte')}"
        + (f", written to {args.out}" if args.out else "")
        + (
            "; it matches the contract's terms hash on chain"
            if matches
            else f"\nMISMATCH: the document's SHA-256 is {opened.sha256.hex()}, the chain records {recorded}"
        )
    )
    emit(config, data, text)
    return 0 if matches else EXIT_DISCREPANCY


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    from ledger.services.allowlist import admitted_accounts, allowlist_text

    ws = workspace(config)
    record = ws.record()
    listed = admitted_accounts(ws.client, regulator=record.regulator, operators=ws.operators())
    out = Path(args.out)
    existing = None
    if out.is_file():  # a permissions file of the network: its other entries (the node allowlist) stay
        try:
            existing = read_file(out, "permissions").decode("utf-8-sig")  # an editor's byte-order mark goes
        except UnicodeDecodeError:
            raise InputError(f"{out} is not UTF-8 text, so it cannot be a Besu permissions file") from None
    write_file(out, allowlist_text(listed, existing, source=str(out)).encode("utf-8"), "allowlist")
    verb = "updated the accounts allowlist of" if existing else "wrote"
    emit(config, {"file": str(out), "accounts": listed}, f"{verb} {out}: {count(len(listed), 'account')}")
    return 0


def add_identity(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ca", parents=[common], help="the platform certificate authority")
    p.add_argument("action", choices=["init", "issue", "revoke", "list"])
    p.add_argument(
        "member", nargs="?", help="issue, revoke: the member's name (to revoke, or a certificate's serial in hex)"
    )
    p.add_argument("--name", default=None, help="init: the authority's name")
    p.add_argument("--display-name", default=None, help="issue: the institution's name in the certificate")
    p.add_argument("--uscc", default=None, help="issue: the member's unified social credit code")
    p.add_argument("--address", default=None, help="issue: the member's account (default: its workspace key)")
    p.add_argument("--public-key", default=None, help="issue: the member's P-256 public key (PEM)")
    p.add_argument(
        "--renew",
        action="store_true",
        help="issue: a new certificate to the identity key the workspace holds (after expiry or revocation)",
    )
    p.add_argument(
        "--days",
        type=int_in(1, 36_500, what="the number of days"),
        default=None,
        help="init, issue: the days it is valid (default 3650 for the authority, 365 for a member)",
    )
    p.set_defaults(handler=cmd_ca)

    p = sub.add_parser("prove", parents=[common], help="sign a member's enrolment challenge with its own key")
    p.add_argument("member", help="the member's name in this workspace")
    p.add_argument("--cert", default=None, help="its certificate (default: the workspace's certs/MEMBER.pem)")
    p.set_defaults(handler=cmd_prove)

    p = sub.add_parser("terms", parents=[common], help="seal or open a contract's confidential terms")
    p.add_argument("action", choices=["seal", "open"])
    p.add_argument("file", help="seal: the terms document; open: the sealed file")
    p.add_argument("--contract", default=None, help="seal: the contract id")
    p.add_argument("--to", default=None, help="seal: recipients' names, comma-separated (default seller, buyer)")
    p.add_argument("--auditor", default="regulator", help="seal: the auditor who may also open (default regulator)")
    p.add_argument("--as", dest="who", default=None, help="open: whose certificate and key open it")
    p.add_argument(
        "--out",
        default=None,
        help="seal: the sealed file (default FILE.sealed.json); open: where the document goes (default: only checked)",
    )
    p.set_defaults(handler=cmd_terms)

    p = sub.add_parser("export", parents=[common], help="export configuration for the production network")
    p.add_argument("what", choices=["besu-allowlist"])
    p.add_argument("--out", default="permissions_config.toml", help="default permissions_config.toml")
    p.set_defaults(handler=cmd_export)
